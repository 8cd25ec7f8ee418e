package org.jblksnap.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.jblksnap.repo.DirectoryStore;
import org.jblksnap.repo.StoreKeys;
import org.jblksnap.repo.crypto.AuthenticationFailedException;
import org.jblksnap.repo.crypto.Credential;
import org.jblksnap.repo.crypto.KeyRing;
import org.jblksnap.repo.crypto.MasterKey;
import org.jblksnap.repo.crypto.ObjectLabel;
import org.jblksnap.repo.crypto.Sealer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of repository encryption on one thread: AES-256-GCM seal and open of a chunk
 * (size bytes, random content), HMAC-SHA256 keyed chunk ids of the same, and one unlock of a
 * passphrase key with the default Argon2id parameters. Throughput in operations/s; MiB/s is
 * ops/s × size / 2^20.
 */
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class CryptoBench {
    private static final ObjectLabel LABEL = ObjectLabel.of("pack-entry", "0123456789abcdef0123456789abcdef/12");

    @State(Scope.Benchmark)
    public static class Data {
        @Param({"65536", "4194304"})
        int size;
        byte[] plain;
        byte[] sealed;
        byte[] opened;
        MasterKey key;
        Sealer sealer;

        @Setup
        public void setup() {
            plain = new byte[size];
            new SplittableRandom(1).nextBytes(plain);
            key = MasterKey.generate(new SecureRandom());
            sealer = key.sealer();
            sealed = sealer.seal(LABEL, plain);
            opened = new byte[size];
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public byte[] seal(Data d) {
        return d.sealer.seal(LABEL, d.plain);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public byte[] open(Data d) throws AuthenticationFailedException {
        return d.sealer.open(LABEL, d.sealed);
    }

    /** Open into a buffer kept from call to call, as verify does: no array per object. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public int openInto(Data d) throws AuthenticationFailedException {
        return d.sealer.open(LABEL, d.sealed, 0, d.sealed.length, d.opened, 0);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public byte[] chunkId(Data d) {
        return d.key.chunkIds().id(d.plain);
    }

    /** A repository with one passphrase key made with the default KDF parameters. */
    @State(Scope.Benchmark)
    public static class Keys {
        Path dir;
        KeyRing ring;
        Credential password;

        @Setup
        public void setup() throws IOException {
            dir = Files.createTempDirectory("jblksnap-crypto-bench");
            ring = new KeyRing(new StoreKeys(new DirectoryStore(dir)));
            password = new Credential(Credential.Kind.PASSPHRASE, "a bench password".getBytes(StandardCharsets.UTF_8),
                    dir.resolve("password"));
            ring.add(ring.newMasterKey(), password);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            for (String n : ring.list().stream().map(KeyRing.Info::id).toList()) {
                new StoreKeys(new DirectoryStore(dir)).delete(n);
            }
            Files.delete(dir.resolve("keys"));
            Files.delete(dir);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2, batchSize = 1)
    @Measurement(iterations = 10, batchSize = 1)
    public KeyRing.Unlocked unlock(Keys k) throws IOException {
        return k.ring.unlock(k.password);
    }
}
