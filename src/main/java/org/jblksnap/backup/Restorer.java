package org.jblksnap.backup;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.jblksnap.device.BlockDevice;
import org.jblksnap.error.IoMessages;
import org.jblksnap.repo.AtomicFiles;
import org.jblksnap.repo.Hash;
import org.jblksnap.repo.HashList;
import org.jblksnap.repo.ManifestsAhead;
import org.jblksnap.repo.Parallel;
import org.jblksnap.repo.Point;
import org.jblksnap.repo.Geometry;
import org.jblksnap.repo.Repository;

/**
 * Writes a point as a raw image: to a file (chunks of zeroes stay holes) or to a block device
 * at least as large (zeroes are written). Every manifest and chunk is checked against its
 * hash before it is used. Blocks are restored in parallel, each assembled in a buffer of its
 * thread and written in a few large writes (one per run of data chunks, or the whole block to a
 * device), around the page cache ({@link RestoreWrites}) and made durable as the restore goes
 * ({@link Writeback}).
 *
 * <p>A file is written under a temporary name in its directory, made durable, given the old
 * file's permissions, and renamed over the target at the end (then the directory is synced):
 * a restore that fails leaves the old file as it was and removes the temporary one. A block
 * device cannot be renamed: it is written in place, so a failed restore leaves it partly
 * written (restore it again).
 */
public final class Restorer {
    private final Repository repo;
    private final Progress progress;
    private final int threads;

    public Restorer(Repository repo, Progress progress, int threads) {
        this.repo = repo;
        this.progress = progress;
        this.threads = threads;
    }

    public RestoreSummary restore(long pointId, Path target) throws IOException {
        long t0 = System.nanoTime();
        Point point = repo.points().get(pointId);
        Geometry geometry = point.meta().geometry();
        HashList index = repo.points().index(point);
        BlockDevice.Kind kind = BlockDevice.kindOf(target);
        boolean sparse = switch (kind) {
            case MISSING, FILE -> true;
            case BLOCK_DEVICE -> false;
            default -> throw new IOException("cannot restore to " + target + ": it is a " + kind.label);
        };
        AtomicLong zeroes = new AtomicLong();
        Path out = sparse ? temporaryFor(target) : target;
        boolean done = false;
        long written;
        try (FileChannel ch = open(out, sparse, geometry.size()); Writeback writeback = new Writeback(ch, out);
                RestoreWrites writes = new RestoreWrites(ch, out, geometry.blockSize())) {
            // one block's content at a time per thread, reused: no array per chunk
            ThreadLocal<byte[]> buffers = ThreadLocal.withInitial(() -> new byte[geometry.blockSize()]);
            List<Integer> blocks = new ArrayList<>(index.count());
            for (int i = 0; i < index.count(); i++) {
                blocks.add(i);
            }
            ManifestsAhead manifests = new ManifestsAhead(repo.packs(), geometry, index);
            for (int i = 0; i < ManifestsAhead.DEPTH; i++) {
                manifests.readAhead(i);
            }
            progress.start("restore point " + pointId, geometry.size());
            Parallel.forEach(threads, blocks, i -> {
                manifests.readAhead(i + ManifestsAhead.DEPTH);
                restoreBlock(writes, writeback, geometry, manifests.take(i), i, buffers.get(), sparse, zeroes);
                progress.advance(geometry.blockLength(i));
            });
            writeback.finish();
            written = writeback.written();
            done = true;
        } finally {
            if (sparse && !done) {
                Files.deleteIfExists(out);
            }
        }
        if (sparse) {
            replace(out, target);
        }
        progress.finish();
        return new RestoreSummary(pointId, target, geometry.size(), written, zeroes.get(), sparse,
                (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Assembles block i, of the manifest given, in buf, each chunk checked, and writes it in
     * one write per run of chunks to write: of data chunks to a file (zero chunks stay holes),
     * the whole block to a device (zero chunks written as zeroes). Counts the zero chunks.
     */
    private void restoreBlock(RestoreWrites writes, Writeback writeback, Geometry geometry, HashList manifest, int i,
            byte[] buf, boolean sparse, AtomicLong zeroes) throws IOException {
        int run = 0; // the first chunk of the run not written yet
        for (int c = 0; c < manifest.count(); c++) {
            Hash h = manifest.get(c);
            int off = c * geometry.chunkSize();
            int len = geometry.chunkLength(i, c);
            if (!h.isZero()) {
                repo.packs().chunk(h, len, buf, off);
                continue;
            }
            zeroes.incrementAndGet();
            if (sparse) {
                writeback.wrote(writeRun(writes, geometry, i, buf, run, c));
                run = c + 1;
            } else {
                Arrays.fill(buf, off, off + len, (byte) 0);
            }
        }
        writeback.wrote(writeRun(writes, geometry, i, buf, run, manifest.count()));
    }

    /** Writes chunks [from, to) of block i from buf, if any; returns the bytes written. */
    private static int writeRun(RestoreWrites writes, Geometry geometry, int i, byte[] buf, int from, int to)
            throws IOException {
        int start = from * geometry.chunkSize();
        int end = Math.min(to * geometry.chunkSize(), geometry.blockLength(i));
        if (end > start) {
            writes.write((long) i * geometry.blockSize() + start, buf, start, end - start);
        }
        return Math.max(0, end - start);
    }

    private FileChannel open(Path target, boolean sparse, long size) throws IOException {
        try {
            return sparse ? emptyFile(target, size) : device(target, size);
        } catch (FileSystemException e) {
            throw new IOException("cannot restore to " + target + ": " + IoMessages.reason(e), e);
        }
    }

    /** The temporary name a file target is written under: hidden, in the target's directory. */
    private static Path temporaryFor(Path target) {
        Path abs = target.toAbsolutePath();
        return abs.resolveSibling("." + abs.getFileName() + ".restore-" + ProcessHandle.current().pid() + ".tmp");
    }

    /** The restored file takes the target's place (and permissions), durably. */
    private static void replace(Path restored, Path target) throws IOException {
        try {
            if (Files.exists(target)) {
                Files.setPosixFilePermissions(restored, Files.getPosixFilePermissions(target));
            }
            Files.move(restored, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            Files.deleteIfExists(restored);
            throw e instanceof FileSystemException f
                    ? new IOException("cannot restore to " + target + ": " + IoMessages.reason(f), e) : e;
        }
        AtomicFiles.syncDirectory(target.toAbsolutePath().getParent());
    }

    /** A new file of the point's size with no data: every chunk not written stays a hole. */
    private static FileChannel emptyFile(Path target, long size) throws IOException {
        // opened first the NIO way for its clear errors, then sized
        Files.newByteChannel(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING).close();
        RandomAccessFile f = new RandomAccessFile(target.toFile(), "rw");
        try {
            f.setLength(size);
        } catch (IOException e) {
            f.close();
            throw e;
        }
        return f.getChannel();
    }

    private FileChannel device(Path target, long size) throws IOException {
        FileChannel ch = FileChannel.open(target, StandardOpenOption.WRITE);
        long capacity = ch.size();
        if (capacity < size) {
            ch.close();
            throw new IOException("device " + target + " has " + capacity + " bytes, less than the point's " + size);
        }
        if (capacity > size) {
            progress.note("device " + target + " is larger than the point; its last " + (capacity - size)
                    + " bytes are left as they are");
        }
        return ch;
    }
}
