package org.jblksnap.backup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A qcow2 test disk with persistent dirty bitmaps (qemu-img, qemu-io, qemu-nbd), and a byte
 * model of its content kept next to it to know which blocks each round of writes touched.
 */
public final class QemuImage {
    private final Path dir;
    private final Path file;
    private final int size;

    public QemuImage(Path dir, int size) throws IOException, InterruptedException {
        this.dir = dir;
        this.file = dir.resolve("disk.qcow2");
        this.size = size;
        Cmd.run("qemu-img", "create", "-q", "-f", "qcow2", file.toString(), Integer.toString(size));
    }

    public int size() {
        return size;
    }

    public void addBitmap(String name) throws IOException, InterruptedException {
        Cmd.run("qemu-img", "bitmap", "--add", file.toString(), name);
    }

    public void removeBitmap(String name) throws IOException, InterruptedException {
        Cmd.run("qemu-img", "bitmap", "--remove", file.toString(), name);
    }

    /** One write: a byte pattern, or zeroes when pattern is 0. */
    public record Write(long offset, int length, int pattern) {
        String command() {
            return pattern == 0 ? "write -z " + offset + " " + length : "write -P " + pattern + " " + offset + " " + length;
        }
    }

    /** Random sector-aligned writes, about one in five of zeroes. */
    public List<Write> randomWrites(Random rnd, int count, int maxLength) {
        List<Write> ws = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int len = (1 + rnd.nextInt(maxLength / 512)) * 512;
            long off = (long) rnd.nextInt((size - len) / 512 + 1) * 512;
            ws.add(new Write(off, len, rnd.nextInt(5) == 0 ? 0 : 1 + rnd.nextInt(255)));
        }
        return ws;
    }

    public void write(List<Write> writes) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "qcow2"));
        for (Write w : writes) {
            cmd.add("-c");
            cmd.add(w.command());
        }
        cmd.add(file.toString());
        Cmd.run(cmd);
    }

    /** The image's content now, as a raw file. */
    public Path snapshotRaw(String name) throws IOException, InterruptedException {
        Path raw = dir.resolve(name);
        Files.deleteIfExists(raw);
        Cmd.run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", file.toString(), raw.toString());
        return raw;
    }

    /** Serves the image read-only, exporting the named bitmaps. */
    public ServerProcess serve(String... bitmaps) throws IOException, InterruptedException {
        List<String> extra = new ArrayList<>(List.of("-r"));
        for (String b : bitmaps) {
            extra.add("-B");
            extra.add(b);
        }
        return ServerProcess.qemuNbd(dir, file, "qcow2", extra.toArray(String[]::new));
    }
}
