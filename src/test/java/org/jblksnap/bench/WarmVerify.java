package org.jblksnap.bench;

import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;

import org.jblksnap.backup.Progress;
import org.jblksnap.backup.Verifier;
import org.jblksnap.repo.KeyFiles;
import org.jblksnap.repo.Repository;

import com.sun.management.OperatingSystemMXBean;

/**
 * Verify of one repository RUNS times in one JVM, wall and process CPU seconds of each run: the
 * JVM's warm-up apart from the work (scripts/bench-verify-enc times whole commands).
 *
 *   java -cp "target/classes:target/test-classes:$(cat target/test.classpath)" \
 *       org.jblksnap.bench.WarmVerify REPOSITORY RUNS [KEY_FILE]
 */
public final class WarmVerify {
    public static void main(String[] a) throws Exception {
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        KeyFiles keys = new KeyFiles(null, a.length > 2 ? Path.of(a[2]) : null);
        for (int i = 0; i < Integer.parseInt(a[1]); i++) {
            long t0 = System.nanoTime(), c0 = os.getProcessCpuTime();
            try (Repository r = Repository.open(a[0], false, keys)) {
                boolean ok = new Verifier(r, Progress.quiet(new PrintStream(OutputStream.nullOutputStream())), 2).verify(null).ok();
                System.out.printf("%s run %d: wall %.2f s, CPU %.2f s, ok %s%n", a[0].replaceAll(".*/", ""), i + 1,
                        (System.nanoTime() - t0) / 1e9, (os.getProcessCpuTime() - c0) / 1e9, ok);
            }
        }
    }
}
