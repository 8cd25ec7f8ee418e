package org.jblksnap.fuse;

import java.lang.foreign.MemorySegment;
import java.lang.reflect.Method;
import java.util.logging.Logger;

import org.cryptomator.jfuse.api.FuseConfig;
import org.cryptomator.jfuse.linux.amd64.extr.fuse3.fuse_config;

/**
 * Turns on libfuse's direct_io for every file (no page cache in front of the exports, so each
 * read sees the device as it is now, also while written through NBD or the tracker). libfuse 3
 * only takes it in init() through struct fuse_config, which jfuse hands over read-only, so the
 * field is set on jfuse's native struct itself.
 */
final class DirectIoConfig {
    private static final Logger LOG = Logger.getLogger(DirectIoConfig.class.getName());

    private DirectIoConfig() {
    }

    /** True when direct_io is on afterwards. */
    static boolean enable(FuseConfig cfg) {
        if (cfg == null) {
            return false;
        }
        try {
            // jfuse's FuseConfig implementation is a record over the native struct.
            Method segment = cfg.getClass().getDeclaredMethod("segment");
            segment.setAccessible(true);
            fuse_config.direct_io((MemorySegment) segment.invoke(cfg), 1);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            LOG.warning(() -> "cannot turn on FUSE direct_io (" + e + "); the exports go through the page cache,"
                    + " which is dropped at each open");
        }
        return cfg.directIo() != 0;
    }
}
