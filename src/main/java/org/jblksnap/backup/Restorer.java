package org.jblksnap.backup;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.jblksnap.device.BlockDevice;
import org.jblksnap.device.FileIo;
import org.jblksnap.error.IoMessages;
import org.jblksnap.repo.AtomicFiles;
import org.jblksnap.repo.Hash;
import org.jblksnap.repo.HashList;
import org.jblksnap.repo.Point;
import org.jblksnap.repo.Geometry;
import org.jblksnap.repo.Repository;

/**
 * Writes a point as a raw image: to a file (chunks of zeroes stay holes) or to a block device
 * at least as large (zeroes are written). Every manifest and chunk is checked against its
 * hash before it is used.
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
        AtomicLong written = new AtomicLong();
        AtomicLong zeroes = new AtomicLong();
        Path out = sparse ? temporaryFor(target) : target;
        boolean done = false;
        try (FileChannel ch = open(out, sparse, geometry.size())) {
            byte[] zero = sparse ? null : new byte[geometry.chunkSize()];
            List<Integer> blocks = new ArrayList<>(index.count());
            for (int i = 0; i < index.count(); i++) {
                blocks.add(i);
            }
            progress.start("restore point " + pointId, geometry.size());
            Parallel.forEach(threads, blocks, i -> {
                HashList manifest = repo.packs().manifest(geometry, index, i);
                for (int c = 0; c < manifest.count(); c++) {
                    Hash h = manifest.get(c);
                    int len = geometry.chunkLength(i, c);
                    long off = (long) i * geometry.blockSize() + (long) c * geometry.chunkSize();
                    if (h.isZero()) {
                        zeroes.incrementAndGet();
                        if (sparse) {
                            continue;
                        }
                    }
                    byte[] data = h.isZero() ? zero : repo.packs().chunk(h, len);
                    FileIo.writeFully(ch, off, ByteBuffer.wrap(data, 0, len));
                    written.addAndGet(len);
                }
                progress.advance(geometry.blockLength(i));
            });
            ch.force(true);
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
        return new RestoreSummary(pointId, target, geometry.size(), written.get(), zeroes.get(), sparse,
                (System.nanoTime() - t0) / 1e9);
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
