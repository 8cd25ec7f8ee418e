package org.jblksnap.repo;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

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

    private static final Pool<ZstdCompressCtx> COMPRESS = new Pool<>(ZstdCompressCtx::new);
    private static final Pool<ZstdDecompressCtx> DECOMPRESS = new Pool<>(ZstdDecompressCtx::new);

    private ZstdContexts() {
    }

    /**
     * src[srcOff, srcOff + srcLen) as one zstd frame (content size in its header, no checksum:
     * what {@code Zstd.compressByteArray} writes) into dst[dstOff, dstOff + dstLen); returns its
     * length. Throws {@link com.github.luben.zstd.ZstdException} when it fails.
     */
    static int compress(byte[] dst, int dstOff, int dstLen, byte[] src, int srcOff, int srcLen, int level) {
        ZstdCompressCtx c = COMPRESS.take();
        boolean good = false;
        try {
            c.setLevel(level);
            int n = c.compressByteArray(dst, dstOff, dstLen, src, srcOff, srcLen);
            good = true;
            return n;
        } finally {
            COMPRESS.give(c, good);
        }
    }

    /**
     * Decompresses the zstd frame src[srcOff, srcOff + srcLen) into dst[dstOff, dstOff +
     * dstLen); returns the bytes written. Throws {@link com.github.luben.zstd.ZstdException}.
     */
    static int decompress(byte[] dst, int dstOff, int dstLen, byte[] src, int srcOff, int srcLen) {
        ZstdDecompressCtx d = DECOMPRESS.take();
        boolean good = false;
        try {
            int n = d.decompressByteArray(dst, dstOff, dstLen, src, srcOff, srcLen);
            good = true;
            return n;
        } finally {
            DECOMPRESS.give(d, good);
        }
    }

    /** At most {@value #KEPT} idle contexts; one that failed a call is freed, not kept. */
    private static final class Pool<T extends AutoCloseable> {
        private final ConcurrentLinkedQueue<T> idle = new ConcurrentLinkedQueue<>();
        private final AtomicInteger kept = new AtomicInteger();
        private final Supplier<T> make;

        Pool(Supplier<T> make) {
            this.make = make;
        }

        T take() {
            T t = idle.poll();
            if (t == null) {
                return make.get();
            }
            kept.decrementAndGet();
            return t;
        }

        void give(T t, boolean good) {
            if (good && kept.incrementAndGet() <= KEPT) {
                idle.offer(t);
                return;
            }
            if (good) {
                kept.decrementAndGet();
            }
            try {
                t.close(); // zstd-jni's close frees the native context and throws nothing
            } catch (Exception e) {
                throw new IllegalStateException("a zstd context could not be freed", e);
            }
        }
    }
}
