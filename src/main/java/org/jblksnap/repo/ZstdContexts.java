package org.jblksnap.repo;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;

/**
 * Reused zstd contexts for entries. zstd-jni's static {@code Zstd.compressByteArray} and
 * {@code decompressByteArray} create and free a native context on every call (a few hundred
 * KiB of tables allocated and cleared per 64 KiB chunk); these are taken from a small shared
 * pool instead and given back after the call. The pool is process-wide and bounded, so a
 * daemon that runs backup after backup on new threads neither leaks native memory (which a
 * thread-local context would do: zstd-jni's contexts have no cleaner) nor keeps more than
 * {@value #KEPT} contexts of each kind. Thread-safe.
 */
final class ZstdContexts {
    /** Contexts kept of each kind; more are made when more threads compress at once, and freed. */
    static final int KEPT = 16;

    private static final ConcurrentLinkedQueue<ZstdCompressCtx> COMPRESS = new ConcurrentLinkedQueue<>();
    private static final ConcurrentLinkedQueue<ZstdDecompressCtx> DECOMPRESS = new ConcurrentLinkedQueue<>();
    private static final AtomicInteger COMPRESS_KEPT = new AtomicInteger();
    private static final AtomicInteger DECOMPRESS_KEPT = new AtomicInteger();

    private ZstdContexts() {
    }

    /**
     * src[srcOff, srcOff + srcLen) as one zstd frame (content size in its header, no checksum:
     * what {@code Zstd.compressByteArray} writes) into dst[dstOff, dstOff + dstLen); returns its
     * length. Throws {@link com.github.luben.zstd.ZstdException} when it fails.
     */
    static int compress(byte[] dst, int dstOff, int dstLen, byte[] src, int srcOff, int srcLen, int level) {
        ZstdCompressCtx c = COMPRESS.poll();
        if (c == null) {
            c = new ZstdCompressCtx();
        } else {
            COMPRESS_KEPT.decrementAndGet();
        }
        boolean good = false;
        try {
            c.setLevel(level);
            int n = c.compressByteArray(dst, dstOff, dstLen, src, srcOff, srcLen);
            good = true;
            return n;
        } finally {
            if (good && COMPRESS_KEPT.incrementAndGet() <= KEPT) {
                COMPRESS.offer(c);
            } else {
                if (good) {
                    COMPRESS_KEPT.decrementAndGet();
                }
                c.close();
            }
        }
    }

    /**
     * Decompresses the zstd frame src[srcOff, srcOff + srcLen) into dst[dstOff, dstOff +
     * dstLen); returns the bytes written. Throws {@link com.github.luben.zstd.ZstdException}.
     */
    static int decompress(byte[] dst, int dstOff, int dstLen, byte[] src, int srcOff, int srcLen) {
        ZstdDecompressCtx d = DECOMPRESS.poll();
        if (d == null) {
            d = new ZstdDecompressCtx();
        } else {
            DECOMPRESS_KEPT.decrementAndGet();
        }
        boolean good = false;
        try {
            int n = d.decompressByteArray(dst, dstOff, dstLen, src, srcOff, srcLen);
            good = true;
            return n;
        } finally {
            if (good && DECOMPRESS_KEPT.incrementAndGet() <= KEPT) {
                DECOMPRESS.offer(d);
            } else {
                if (good) {
                    DECOMPRESS_KEPT.decrementAndGet();
                }
                d.close();
            }
        }
    }
}
