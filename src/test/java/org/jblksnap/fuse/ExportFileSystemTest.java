package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Map;
import java.util.Set;

import org.cryptomator.jfuse.api.FileInfo;
import org.cryptomator.jfuse.api.Stat;
import org.cryptomator.jfuse.api.TimeSpec;
import org.jblksnap.error.Errno;
import org.jblksnap.error.ImageClosedException;
import org.jblksnap.error.SnapshotCorruptedException;
import org.junit.jupiter.api.Test;

/** The FUSE callbacks called directly, without a mount: what each failure returns. */
class ExportFileSystemTest {
    private static final int O_RDONLY = 0;
    private static final int O_RDWR = 2;

    private final ExportFileSystem fs = new ExportFileSystem(null, FuseExports.Options.defaults());

    @Test
    void readOnlyExportsRefuseWrites() {
        MemoryBlockIo ro = new MemoryBlockIo(4096, 0, true);
        fs.add(new ExportFile("ro", ro));
        FakeStat stat = new FakeStat();
        assertEquals(0, fs.getattr("/ro", stat, null));
        assertEquals(Stat.S_IFREG | 0444, stat.mode);
        assertEquals(4096, stat.size);
        assertEquals(FuseErrno.EROFS, fs.open("/ro", new FakeFileInfo(O_RDWR)));
        FakeFileInfo fi = new FakeFileInfo(O_RDONLY);
        assertEquals(0, fs.open("/ro", fi));
        assertEquals(FuseErrno.EROFS, fs.write("/ro", ByteBuffer.allocate(512), 512, 0, fi));
        assertEquals(FuseErrno.EROFS, fs.truncate("/ro", 4096, null));
        assertEquals(512, fs.read("/ro", ByteBuffer.allocate(512), 512, 0, fi));
        assertEquals(0, fs.fsync("/ro", 0, fi), "nothing to make durable");
        assertEquals(0, ro.flushes);
        assertEquals(0, fs.release("/ro", fi));
        assertEquals(0, fs.openHandles());
    }

    @Test
    void rangesAndNamesMapToErrno() {
        MemoryBlockIo dev = new MemoryBlockIo(4096, 0);
        fs.add(new ExportFile("d0", dev));
        FakeFileInfo fi = new FakeFileInfo(O_RDWR);
        assertEquals(0, fs.open("/d0", fi));
        assertEquals(FuseErrno.ENOSPC, fs.write("/d0", ByteBuffer.allocate(1), 1, 4096, fi));
        assertEquals(FuseErrno.EINVAL, fs.write("/d0", ByteBuffer.allocate(1), 1, -1, fi));
        assertEquals(FuseErrno.EINVAL, fs.read("/d0", ByteBuffer.allocate(1), 1, -1, fi));
        assertEquals(FuseErrno.EINVAL, fs.truncate("/d0", 0, fi));
        assertEquals(0, fs.truncate("/d0", 4096, fi));
        assertEquals(0, fs.flush("/d0", fi));
        assertEquals(1, dev.flushes, "flush reaches BlockIo.flush");
        assertEquals(FuseErrno.ENOENT, fs.getattr("/nothing", new FakeStat(), null));
        assertEquals(FuseErrno.ENOENT, fs.getattr("/d0/x", new FakeStat(), null));
        assertEquals(FuseErrno.ENOENT, fs.open("/nothing", new FakeFileInfo(O_RDONLY)));
        assertEquals(FuseErrno.EISDIR, fs.open("/", new FakeFileInfo(O_RDONLY)));
        assertEquals(FuseErrno.ENOTDIR, fs.opendir("/d0", fi));
        assertEquals(FuseErrno.EBADF, fs.read("/d0", ByteBuffer.allocate(1), 1, 0, new FakeFileInfo(O_RDONLY, 999)));
    }

    @Test
    void engineFailuresCarryTheirErrno() {
        fs.add(new ExportFile("corrupt", new FailingBlockIo(new SnapshotCorruptedException("overflow"))));
        fs.add(new ExportFile("gone", new FailingBlockIo(new ImageClosedException("destroyed"))));
        // A corrupted image is EIO; a destroyed one ESHUTDOWN, as over NBD (TransmissionTest).
        Map<String, Integer> expected = Map.of("corrupt", FuseErrno.EIO, "gone", -Errno.ESHUTDOWN.code());
        for (String name : new String[] {"corrupt", "gone"}) {
            FakeFileInfo fi = new FakeFileInfo(O_RDWR);
            int errno = expected.get(name);
            assertEquals(0, fs.open("/" + name, fi));
            assertEquals(errno, fs.read("/" + name, ByteBuffer.allocate(512), 512, 0, fi), name);
            assertEquals(errno, fs.write("/" + name, ByteBuffer.allocate(512), 512, 0, fi), name);
            assertEquals(errno, fs.write("/" + name, ByteBuffer.allocate(5), 5, 3, fi), name + " partial");
            assertEquals(errno, fs.fsync("/" + name, 0, fi), name);
        }
    }

    @Test
    void onlyAWritersCloseMakesWritesDurable() {
        MemoryBlockIo dev = new MemoryBlockIo(4096, 0);
        fs.add(new ExportFile("d0", dev));
        FakeFileInfo reader = new FakeFileInfo(O_RDONLY);
        assertEquals(0, fs.open("/d0", reader));
        assertEquals(0, fs.flush("/d0", reader));
        assertEquals(0, dev.flushes, "a reader's close (md5sum, blkid) syncs nothing");
        FakeFileInfo writer = new FakeFileInfo(O_RDWR);
        assertEquals(0, fs.open("/d0", writer));
        assertEquals(0, fs.flush("/d0", writer));
        assertEquals(1, dev.flushes);
        assertEquals(0, fs.fsync("/d0", 0, reader));
        assertEquals(2, dev.flushes, "an explicit fsync syncs whoever asks");
    }

    @Test
    void anOpenHandleOutlivesItsExport() {
        fs.add(new ExportFile("d0", new MemoryBlockIo(4096, 0)));
        FakeFileInfo fi = new FakeFileInfo(O_RDWR);
        assertEquals(0, fs.open("/d0", fi));
        fs.remove("d0");
        assertEquals(FuseErrno.ENOENT, fs.open("/d0", new FakeFileInfo(O_RDONLY)));
        assertEquals(512, fs.read("/d0", ByteBuffer.allocate(512), 512, 0, fi));
        assertEquals(0, fs.getattr("/d0", new FakeStat(), fi), "fstat on the open handle");
    }

    /** A device whose every access fails as given. */
    private record FailingBlockIo(java.io.IOException failure) implements org.jblksnap.device.BlockIo {
        @Override
        public long capacity() {
            return 4096;
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws java.io.IOException {
            throw failure;
        }

        @Override
        public void write(long offset, ByteBuffer src) throws java.io.IOException {
            throw failure;
        }

        @Override
        public void flush() throws java.io.IOException {
            throw failure;
        }
    }

    private static final class FakeFileInfo implements FileInfo {
        private final int flags;
        private long fh;

        FakeFileInfo(int flags) {
            this(flags, 0);
        }

        FakeFileInfo(int flags, long fh) {
            this.flags = flags;
            this.fh = fh;
        }

        @Override
        public long getFh() {
            return fh;
        }

        @Override
        public void setFh(long fh) {
            this.fh = fh;
        }

        @Override
        public int getFlags() {
            return flags;
        }

        @Override
        public Set<StandardOpenOption> getOpenFlags() {
            return Set.of();
        }

        @Override
        public long getLockOwner() {
            return 0;
        }
    }

    private static final class FakeStat implements Stat {
        int mode;
        long size;
        long nlink;

        @Override
        public TimeSpec aTime() {
            return new FakeTime();
        }

        @Override
        public TimeSpec cTime() {
            return new FakeTime();
        }

        @Override
        public TimeSpec mTime() {
            return new FakeTime();
        }

        @Override
        public TimeSpec birthTime() {
            return new FakeTime();
        }

        @Override
        public void setMode(int mode) {
            this.mode = mode;
        }

        @Override
        public int getMode() {
            return mode;
        }

        @Override
        public void setUid(int uid) {
        }

        @Override
        public int getUid() {
            return 0;
        }

        @Override
        public void setGid(int gid) {
        }

        @Override
        public int getGid() {
            return 0;
        }

        @Override
        public void setNLink(short nlink) {
            this.nlink = nlink;
        }

        @Override
        public long getNLink() {
            return nlink;
        }

        @Override
        public void setSize(long size) {
            this.size = size;
        }

        @Override
        public long getSize() {
            return size;
        }
    }

    private static final class FakeTime implements TimeSpec {
        private Instant value = Instant.EPOCH;

        @Override
        public boolean isUtimeOmit() {
            return false;
        }

        @Override
        public boolean isUtimeNow() {
            return false;
        }

        @Override
        public void set(Instant newValue) {
            value = newValue;
        }

        @Override
        public Instant get() {
            return value;
        }
    }
}
