package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;

import com.sun.nio.file.ExtendedOpenOption;

/**
 * Files of random bytes on a mounted file system, each listed with its MD5 in the directory's
 * hash.md5 as it is written; {@link #check} verifies what a directory's hash.md5 lists. A
 * snapshot taken between two batches holds the first batch and a hash.md5 that lists only it.
 */
final class FileSet {
    static final String HASHES = "hash.md5";
    private static final int ALIGN = 4096;

    private FileSet() {
    }

    /** count files prefix-0.. of 8..107 KiB (rounded to 4 KiB), written with O_DIRECT. */
    static List<String> small(Path dir, String prefix, int count, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int kib = (random.nextInt(100) + 8 + 3) & ~3;
            names.add(write(dir, prefix + "-" + i, kib * 1024, random));
        }
        return names;
    }

    /** Files prefix-0.. of 1..10 MiB until at least mib MiB are written, with O_DIRECT. */
    static List<String> mebibytes(Path dir, String prefix, int mib, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        List<String> names = new ArrayList<>();
        for (int total = 0, i = 0; total < mib; i++) {
            int size = random.nextInt(10) + 1;
            names.add(write(dir, prefix + "-" + i, size << 20, random));
            total += size;
        }
        return names;
    }

    private static String write(Path dir, String name, int size, SplittableRandom random) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(size + ALIGN).alignedSlice(ALIGN).limit(size);
        byte[] chunk = new byte[8192];
        MessageDigest md5 = md5();
        while (buf.hasRemaining()) {
            random.nextBytes(chunk);
            int n = Math.min(chunk.length, buf.remaining());
            buf.put(chunk, 0, n);
            md5.update(chunk, 0, n);
        }
        buf.flip();
        try (FileChannel ch = FileChannel.open(dir.resolve(name), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT)) {
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }
        String line = HexFormat.of().formatHex(md5.digest()) + "  " + name + "\n";
        try (FileChannel ch = FileChannel.open(dir.resolve(HASHES), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            ch.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII)));
            ch.force(true);
        }
        return name;
    }

    /** Verifies the MD5 of every file dir/hash.md5 lists; returns their names. */
    static Set<String> check(Path dir) throws IOException {
        Set<String> names = new TreeSet<>();
        for (String line : Files.readAllLines(dir.resolve(HASHES), StandardCharsets.US_ASCII)) {
            String expected = line.substring(0, 32);
            String name = line.substring(34);
            MessageDigest md5 = md5();
            try (FileChannel ch = FileChannel.open(dir.resolve(name), StandardOpenOption.READ)) {
                ByteBuffer b = ByteBuffer.allocate(1 << 16);
                while (ch.read(b.clear()) > 0) {
                    md5.update(b.flip());
                }
            }
            assertEquals(expected, HexFormat.of().formatHex(md5.digest()), dir.resolve(name) + " has other bytes than written");
            names.add(name);
        }
        return names;
    }

    /** The union of name lists, as a set to compare with {@link #check}. */
    @SafeVarargs
    static Set<String> union(List<String>... lists) {
        Set<String> s = new TreeSet<>();
        for (List<String> l : lists) {
            s.addAll(l);
        }
        return s;
    }

    private static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
