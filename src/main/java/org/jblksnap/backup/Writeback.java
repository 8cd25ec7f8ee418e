package org.jblksnap.backup;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.jblksnap.device.Native;

/**
 * Makes what a restore writes durable while it goes on: after every {@value #STEP} bytes
 * written, one fdatasync of the target on a thread of its own (never two at once). The kernel
 * starts writing dirty pages back only when a tenth or so of memory is dirty, so without this
 * a whole image waits in memory for the final fsync, which then takes as long as the disk
 * needs for all of it, after the work is done; with it, that wait overlaps the decoding and
 * the final fsync writes the last step or so. A failed fdatasync is reported by {@link
 * #finish}: on Linux the error is cleared once reported, so a later fsync could succeed
 * although pages were lost.
 *
 * <p>Each fdatasync is followed by POSIX_FADV_DONTNEED on the target, which drops the pages
 * written back (dirty ones stay): a restore holds about two steps of the page cache, not the
 * whole image, so it neither evicts what the host's other work caches nor needs fresh pages
 * all along. On this project's VM, whose freed memory goes back to the host, a page touched
 * for the first time costs far more than one reused: a 1.4 GB buffered write took 5.5 s of
 * system time into fresh pages and 0.45 s into reused ones (nbdcopy keeps its footprint small
 * the same way, with sync_file_range and DONTNEED).
 */
final class Writeback implements AutoCloseable {
    static final long STEP = 64L << 20;

    private final FileChannel ch;
    /** A descriptor of the target for the page cache hint; negative when it could not be opened. */
    private final int hintFd;
    private final ExecutorService syncer = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("restore-writeback").factory());
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong next = new AtomicLong(STEP);
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile IOException failure;

    /** ch: the target, open for writing at path. */
    Writeback(FileChannel ch, Path path) {
        this.ch = ch;
        this.hintFd = Native.open(path.toString(), Native.O_RDONLY | Native.O_CLOEXEC);
    }

    /** Counts bytes written; starts an fdatasync when a step is full and none is running. */
    void wrote(long bytes) {
        long total = written.addAndGet(bytes);
        if (total >= next.get() && busy.compareAndSet(false, true)) {
            next.set(total + STEP);
            syncer.execute(() -> {
                try {
                    ch.force(false);
                    dropWrittenBack();
                } catch (IOException e) {
                    failure = e;
                } finally {
                    busy.set(false);
                }
            });
        }
    }

    /** The bytes written so far. */
    long written() {
        return written.get();
    }

    /** Waits for the fdatasync running, if any, then makes all the file durable (data and size). */
    void finish() throws IOException {
        awaitSyncer();
        if (failure != null) {
            throw failure;
        }
        ch.force(true);
        dropWrittenBack();
    }

    /** A hint: where it fails the restore is the same, only its pages stay cached. */
    private void dropWrittenBack() {
        if (hintFd >= 0) {
            Native.fadvise(hintFd, 0, 0, Native.FADV_DONTNEED);
        }
    }

    /**
     * Waits for the fdatasync running, if any, without interrupting it: an interrupt would
     * close the channel under it.
     */
    @Override
    public void close() throws IOException {
        awaitSyncer();
        if (hintFd >= 0) {
            Native.close(hintFd);
        }
    }

    private void awaitSyncer() throws InterruptedIOException {
        syncer.shutdown();
        try {
            syncer.awaitTermination(Long.MAX_VALUE, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while the restored data was written back");
        }
    }
}
