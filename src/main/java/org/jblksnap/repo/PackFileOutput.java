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
 * <p>A full buffer is written on a thread of its own while the next one fills (two buffers, one
 * write in flight, in order): {@link #write} is called under the pack appender's lock, and a
 * direct write there held every backup worker behind the disk (a third of a second of a 2 GiB
 * full backup's workers waited on that lock). A write waits only when the disk is slower than
 * the buffer fills; a read, {@link #force} and {@link #close} wait for the write in flight first,
 * and a failed one fails every later call.
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
    private final int block;
    // guarded by this
    /** The buffer being filled; the other one, spare, may be in flight. */
    private ByteBuffer stage;
    private ByteBuffer spare;
    /** The direct write of the spare buffer, while in flight; null when none is. */
    private Thread inFlight;
    /** Bytes in the file or on their way to it, in the write in flight (a multiple of block when direct). */
    private long written;
    /** Bytes write() took, which size() reports (also after a failed write, whose file holds an unknown part). */
    private long accepted;
    private boolean closed;
    /**
     * A direct write that failed, however (an Error too: the writer thread records it, and no
     * allocation is needed for that when out of memory): every later call fails (the file holds
     * an unknown part).
     */
    private volatile Throwable failed;

    private PackFileOutput(FileChannel file, FileChannel direct, int block) {
        this.file = file;
        this.direct = direct;
        this.block = block;
        if (direct == null) {
            arena = null;
            stage = null;
            spare = null;
        } else {
            arena = Arena.ofShared();
            try {
                stage = arena.allocate(STAGE, block).asByteBuffer();
                spare = arena.allocate(STAGE, block).asByteBuffer();
            } catch (Throwable e) { // out of native memory: what the first took goes back
                arena.close();
                throw e;
            }
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
                startWrite();
            }
        }
    }

    /** Bytes written so far. */
    synchronized long size() {
        return accepted;
    }

    /** Bytes written so far, read back; shorter than asked at the end. */
    synchronized byte[] read(long offset, int length) throws IOException {
        awaitInFlight();
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
        awaitInFlight();
        checkOpen();
        if (direct != null && stage.position() > 0) {
            int padded = (stage.position() + block - 1) / block * block;
            while (stage.position() < padded) {
                stage.put((byte) 0);
            }
            startWrite();
            awaitInFlight();
            checkOpen();
            file.truncate(accepted);
            written = accepted;
        }
        file.force(true);
    }

    /**
     * Writes the full buffer at the end of the file on a thread of its own, once the write
     * before it is done (so the file grows in order); the spare buffer is filled meanwhile.
     */
    private void startWrite() throws IOException {
        awaitInFlight();
        checkOpen();
        ByteBuffer full = stage.flip();
        long at = written;
        Thread writer = Thread.ofVirtual().name("pack-write").unstarted(() -> {
            try {
                while (full.hasRemaining()) {
                    direct.write(full, at + full.position());
                }
            } catch (Throwable e) { // an Error too: uncaught, the buffer would be a hole nobody knew of
                // the file may hold part of the buffer: no later call may go on as if it did not (set
                // without this object's lock, which the caller waiting for this write holds)
                failed = e;
            }
        });
        try {
            writer.start();
        } catch (Throwable e) { // no thread for it (out of memory): the buffer is not written, nor anything after
            failed = e;
            throw e;
        }
        inFlight = writer;
        stage = spare;
        spare = full;
        written += full.limit();
    }

    /** Waits for the write in flight, if any (its buffer is then the spare one, cleared). */
    private void awaitInFlight() {
        Thread t = inFlight;
        if (t == null) {
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the buffer may not be reused or freed while the kernel reads it
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        inFlight = null;
        spare.clear();
    }

    private void checkOpen() throws IOException {
        if (closed) {
            throw new ClosedChannelException();
        }
        Throwable f = failed;
        if (f != null) {
            throw new IOException("an earlier write of this pack failed (" + (f instanceof IOException ? f.getMessage()
                    : f.toString()) + ")", f);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        awaitInFlight(); // its failure, if any, is the caller's to have seen: close frees what it wrote from
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
