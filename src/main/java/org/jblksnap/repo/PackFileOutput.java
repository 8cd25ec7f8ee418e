package org.jblksnap.repo;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.jblksnap.device.DirectIo;

/**
 * The bytes of a pack file being written ({@link DirectoryStore}'s writer), written around the
 * page cache where the file system allows it.
 *
 * <p>Why: a backup writes its packs once and nobody reads them soon (a restore comes days
 * later), so through the page cache they would only push the host's own data out of it, and
 * copying them into newly allocated cache pages is the most expensive step of a full backup on
 * a virtual machine whose memory the host takes back when it is free: {@code pwrite} into the
 * cache was a quarter of a 2 GiB backup's CPU (BENCHMARKS.md, "Packs written around the page
 * cache"). So the bytes gather in an aligned buffer of {@value #STAGE} bytes that is written with
 * {@code O_DIRECT} whenever it fills. At {@link #force} the last part is written padded to a
 * whole block and the file truncated to its length, then fsynced: the same file, durable, as
 * the buffered way writes it.
 *
 * <p>A file system that refuses {@code O_DIRECT} gets the buffered way: each write goes to the
 * file as it comes, through the page cache. Reads of what was written come from the file and,
 * for the part not written yet, from the buffer. Thread-safe: a pack being written serves
 * reads to other threads ({@link PackCatalog#source}).
 */
final class PackFileOutput implements AutoCloseable {
    /** What gathers before a direct write: a multiple of any block size direct I/O is used with. */
    static final int STAGE = 1 << 20;

    /** Reads, buffered writes, the truncation and the fsync. */
    private final FileChannel file;
    /** The same file opened with O_DIRECT; null when written the buffered way. */
    private final FileChannel direct;
    private final Arena arena;
    private final ByteBuffer stage;
    private final int block;
    // guarded by this
    /** Bytes in the file (a multiple of block when direct). */
    private long written;
    /** Bytes write() took, which size() reports (also after a failed write, whose file holds an unknown part). */
    private long accepted;
    private boolean closed;
    /** A direct write that failed: every later call fails too (the file holds an unknown part). */
    private IOException failed;

    private PackFileOutput(FileChannel file, FileChannel direct, int block) {
        this.file = file;
        this.direct = direct;
        this.block = block;
        if (direct == null) {
            arena = null;
            stage = null;
        } else {
            arena = Arena.ofShared();
            stage = arena.allocate(STAGE, block).asByteBuffer();
        }
    }

    /** Creates the file (it must not exist), direct when its file system allows it. */
    static PackFileOutput create(Path path) throws IOException {
        return create(path, true);
    }

    /** Creates the file (it must not exist); direct only if asked and its file system allows it. */
    static PackFileOutput create(Path path, boolean tryDirect) throws IOException {
        FileChannel file = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileChannel direct = null;
        try {
            int block = tryDirect ? DirectIo.alignment(path) : 0;
            direct = block == 0 ? null : DirectIo.open(path, StandardOpenOption.WRITE);
            return new PackFileOutput(file, direct, block);
        } catch (Throwable e) { // an Error too (the buffer's memory): nothing left open, no file left
            try (file; FileChannel d = direct) {
                Files.deleteIfExists(path);
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Whether it is written around the page cache. */
    boolean isDirect() {
        return direct != null;
    }

    synchronized void write(ByteBuffer b) throws IOException {
        checkOpen();
        if (direct == null) {
            while (b.hasRemaining()) {
                int n = file.write(b, written);
                written += n;
                accepted += n;
            }
            return;
        }
        while (b.hasRemaining()) {
            int n = Math.min(b.remaining(), stage.remaining());
            stage.put(stage.position(), b, b.position(), n);
            stage.position(stage.position() + n);
            b.position(b.position() + n);
            accepted += n;
            if (!stage.hasRemaining()) {
                writeStage();
            }
        }
    }

    /** Bytes written so far. */
    synchronized long size() {
        return accepted;
    }

    /** Bytes written so far, read back; shorter than asked at the end. */
    synchronized byte[] read(long offset, int length) throws IOException {
        checkOpen();
        int n = (int) Math.max(0, Math.min(length, accepted - offset));
        byte[] out = new byte[n];
        ByteBuffer b = ByteBuffer.wrap(out, 0, (int) Math.max(0, Math.min(n, written - offset)));
        while (b.hasRemaining()) {
            if (file.read(b, offset + b.position()) < 0) {
                throw new IOException("pack file shorter than written: " + (offset + b.position()));
            }
        }
        int fromStage = n - b.limit();
        if (fromStage > 0) {
            stage.get((int) (offset + b.limit() - written), out, b.limit(), fromStage);
        }
        return out;
    }

    /** Writes what is left and fsyncs the file; nothing more can be written. */
    synchronized void force() throws IOException {
        checkOpen();
        if (direct != null && stage.position() > 0) {
            int padded = (stage.position() + block - 1) / block * block;
            while (stage.position() < padded) {
                stage.put((byte) 0);
            }
            writeStage();
            file.truncate(accepted);
            written = accepted;
        }
        file.force(true);
    }

    private void writeStage() throws IOException {
        stage.flip();
        try {
            while (stage.hasRemaining()) {
                direct.write(stage, written + stage.position());
            }
        } catch (IOException | RuntimeException e) {
            // the file may hold part of the buffer: no later call may go on as if it did not
            failed = e instanceof IOException io ? io : new IOException(e.getMessage(), e);
            throw e;
        }
        written += stage.limit();
        stage.clear();
    }

    private void checkOpen() throws IOException {
        if (closed) {
            throw new ClosedChannelException();
        }
        if (failed != null) {
            throw new IOException("an earlier write of this pack failed (" + failed.getMessage() + ")", failed);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try (file) {
            if (direct != null) {
                direct.close();
            }
        } finally {
            if (arena != null) {
                arena.close();
            }
        }
    }
}
