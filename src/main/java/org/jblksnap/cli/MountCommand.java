package org.jblksnap.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.jblksnap.fuse.ReadCache;
import org.jblksnap.fuse.ReadOnlyMount;
import org.jblksnap.params.Sizes;
import org.jblksnap.repo.Point;
import org.jblksnap.repo.PointImage;
import org.jblksnap.repo.Repository;

import com.fasterxml.jackson.databind.node.ArrayNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `jblksnap mount`: the files of a backup point, read-only under a directory, its blocks
 * fetched from the repository as they are read ({@link ReadOnlyMount}). Serves until SIGTERM,
 * SIGINT or `jblksnap umount DIR`.
 */
@Command(name = "mount", mixinStandardHelpOptions = true,
        description = "Show the file systems of a backup point read-only under DIR (until `jblksnap umount DIR`).")
final class MountCommand implements Callable<Integer> {
    private static final long STATS_PERIOD_MILLIS = 1000;

    @Mixin
    RepositoryOptions repo;

    @Option(names = "--point", required = true, description = "Point number, or latest (with -d).")
    String point;

    @Option(names = "--cache", defaultValue = "256M", description = "Point blocks kept in memory (default ${DEFAULT-VALUE}).")
    String cache;

    @Option(names = {"-j", "--json"}, description = "Print JSON instead of key=value lines.")
    boolean json;

    @Parameters(index = "0", paramLabel = "DIR", description = "An existing empty directory.")
    Path dir;

    @Override
    public Integer call() throws IOException, InterruptedException {
        serve();
        return 0;
    }

    private void serve() throws IOException, InterruptedException {
        long cacheBytes = Sizes.parse("--cache", cache);
        Repository r = repo.open(false);
        ReadOnlyMount m;
        ReadCache blocks;
        try {
            long id = repo.point(r, point);
            Point p = r.points().get(id);
            blocks = new ReadCache(PointImage.open(r, id), p.meta().geometry().chunkSize(), cacheBytes);
            m = ReadOnlyMount.mount(dir, p.meta().device() + "@point-" + id, blocks);
        } catch (IOException | RuntimeException e) {
            r.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicBoolean stopping = new AtomicBoolean();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping.set(true);
            try {
                m.close();
                r.close();
                System.err.println("unmounted " + dir.toAbsolutePath().normalize() + "; fetched_bytes="
                        + blocks.fetchedBytes());
            } catch (IOException | RuntimeException e) {
                System.err.println("jblksnap: unmounting " + dir + ": " + Errors.describe(e));
            } finally {
                stopped.countDown();
            }
        }, "unmount"));
        ArrayNode volumes = ResultPrinter.array();
        for (ReadOnlyMount.Volume v : m.volumes()) {
            volumes.addObject().put("partition", v.device()).put("type", v.type())
                    .put("mount", v.mountPoint() == null ? "" : v.mountPoint().toString());
        }
        ResultPrinter.print(System.out, ResultPrinter.object().put("dir", dir.toAbsolutePath().normalize().toString())
                .put("file", m.file().toString()).put("loop", m.loopDevice()).put("size", blocks.capacity())
                .set("volumes", volumes), json);
        System.out.flush();
        long written = -1;
        while (!stopped.await(STATS_PERIOD_MILLIS, TimeUnit.MILLISECONDS)) {
            if (blocks.fetchedBytes() != written && !stopping.get()) {
                written = blocks.fetchedBytes();
                Map<String, Long> figures = new LinkedHashMap<>();
                figures.put("size", blocks.capacity());
                figures.put("fetched_bytes", written);
                figures.put("fetches", blocks.fetches());
                try {
                    m.writeStats(figures);
                } catch (IOException e) {
                    // the state directory goes while unmounting
                }
            }
        }
    }
}
