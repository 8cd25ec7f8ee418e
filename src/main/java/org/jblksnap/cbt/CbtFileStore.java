package org.jblksnap.cbt;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.logging.Logger;
import java.util.zip.CRC32C;

import org.jblksnap.device.FileIo;

/**
 * CBT maps saved as one file per device in a directory, named after the device's identity
 * ({@link DeviceStamp#key()}), whatever name it was attached under. The file's format, and
 * why every map of a device is deleted at claim, are in docs/STATE.md ("CBT state file").
 */
public final class CbtFileStore implements CbtStore {
    private static final Logger LOG = Logger.getLogger(CbtFileStore.class.getName());
    private static final byte[] MAGIC = "JBSCBT02".getBytes(StandardCharsets.US_ASCII);
    /** The fixed part of the header, before the name. */
    private static final int FIXED = 128;
    private static final int MAX_TEXT = 4096;

    private final Path dir;

    public CbtFileStore(Path dir) throws IOException {
        this.dir = Files.createDirectories(dir);
    }

    /** A saved map's header (and, once read whole, its map). */
    private record Saved(Path file, DeviceStamp stamp, String name, String path, CbtState state) {
    }

    @Override
    public CbtState claim(String name, Path path, long capacity, int blockShift) throws IOException {
        DeviceStamp now = DeviceStamp.of(path, null);
        String realPath = path.toRealPath().toString();
        List<Saved> mine = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.cbt")) {
            for (Path f : files) {
                Saved s;
                try {
                    s = readHeader(f);
                } catch (IOException | RuntimeException e) {
                    LOG.warning(() -> "saved CBT " + f + " is unreadable (" + e.getMessage() + "); deleted");
                    Files.deleteIfExists(f);
                    continue;
                }
                if (s.stamp().sameDevice(now) || s.path().equals(realPath)) {
                    mine.add(s);
                }
            }
        }
        Saved saved = mine.stream().filter(s -> s.stamp().sameDevice(now)).findFirst().orElse(null);
        String why = null;
        CbtState state = null;
        if (saved != null) {
            try {
                state = readWhole(saved.file()).state();
            } catch (IOException | RuntimeException e) {
                why = "the saved map is unreadable (" + e.getMessage() + ")";
            }
            if (why == null && state.capacity() != capacity) {
                why = "the device size changed from " + state.capacity() + " to " + capacity;
            }
            if (why == null && state.blockShift() != blockShift) {
                why = "the tracking block size changed from 2^" + state.blockShift() + " to 2^" + blockShift;
            }
            if (why == null) {
                why = saved.stamp().changedSince(now);
            }
        }
        // Every saved map of the device goes before it takes a write: after a crash from here
        // on nothing is found, and the next start begins a new generation.
        for (Saved s : mine) {
            Files.delete(s.file());
        }
        syncDirectory();
        for (Saved s : mine) {
            if (s != saved) {
                LOG.info(() -> "device " + name + ": dropped the saved CBT of an earlier file at " + s.path());
            }
        }
        if (saved == null) {
            LOG.info(() -> "device " + name + ": no saved CBT (first attach, or the last stop was not clean): new generation");
            return null;
        }
        if (why != null) {
            String reason = why;
            LOG.warning(() -> "device " + name + ": saved CBT not used because " + reason + ": new generation");
            return null;
        }
        CbtState s = state;
        LOG.info(() -> "device " + name + ": CBT loaded (saved as " + saved.name() + "), generation " + s.generation()
                + ", changes number " + s.previous());
        return state;
    }

    @Override
    public Instant settle(Path path) throws IOException {
        return DeviceStamp.settle(path);
    }

    @Override
    public void save(String name, Path path, CbtState state, Instant trackedUntil) throws IOException {
        DeviceStamp st = DeviceStamp.of(path, trackedUntil);
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        byte[] p = path.toRealPath().toString().getBytes(StandardCharsets.UTF_8);
        int blocks = state.readable().length;
        ByteBuffer b = ByteBuffer.allocate(FIXED + 4 + n.length + 4 + p.length + 2 * blocks + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putLong(state.capacity()).putInt(state.blockShift()).putInt(state.active()).putInt(state.previous())
                .putLong(state.generation().getMostSignificantBits()).putLong(state.generation().getLeastSignificantBits())
                .putInt(st.kind().ordinal()).putLong(st.dev()).putLong(st.inode()).putLong(st.mtimeNs()).putLong(st.ctimeNs())
                .putLong(st.trackedUntil()).putLong(st.bootId().getMostSignificantBits())
                .putLong(st.bootId().getLeastSignificantBits()).putLong(st.diskSequence()).putLong(st.written())
                .putLong(st.diskWritten());
        assert b.position() == FIXED;
        b.putInt(n.length).put(n).putInt(p.length).put(p).put(state.readable()).put(state.writable());
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        b.flip();
        Path tmp = dir.resolve("." + st.key() + ".cbt.tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            FileIo.writeFully(ch, 0, b);
            ch.force(true);
        }
        Files.move(tmp, dir.resolve(st.key() + ".cbt"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory();
    }

    private static Saved readHeader(Path file) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(FIXED + 8 + 2 * MAX_TEXT);
        }
        return decode(file, ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN), false);
    }

    private static Saved readWhole(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        if (all.length < FIXED + 12) {
            throw new IOException("file too short");
        }
        CRC32C crc = new CRC32C();
        crc.update(all, 0, all.length - 4);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if ((int) crc.getValue() != b.getInt(all.length - 4)) {
            throw new IOException("checksum mismatch");
        }
        b.limit(all.length - 4);
        return decode(file, b, true);
    }

    private static Saved decode(Path file, ByteBuffer b, boolean withMaps) throws IOException {
        if (b.remaining() < FIXED + 8) {
            throw new IOException("file too short");
        }
        byte[] magic = new byte[MAGIC.length];
        b.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new IOException("not a jblksnap CBT file of this version");
        }
        long capacity = b.getLong();
        int shift = b.getInt();
        int active = b.getInt();
        int previous = b.getInt();
        UUID generation = new UUID(b.getLong(), b.getLong());
        DeviceStamp stamp = new DeviceStamp(DeviceStamp.Kind.values()[b.getInt()], b.getLong(), b.getLong(), b.getLong(),
                b.getLong(), b.getLong(), new UUID(b.getLong(), b.getLong()), b.getLong(), b.getLong(), b.getLong());
        String name = text(b);
        String path = text(b);
        CbtState state = null;
        if (withMaps) {
            int n = b.remaining() / 2;
            byte[] readable = new byte[n];
            byte[] writable = new byte[n];
            b.get(readable).get(writable);
            state = new CbtState(capacity, shift, generation, active, previous, readable, writable);
        }
        return new Saved(file, stamp, name, path, state);
    }

    private static String text(ByteBuffer b) throws IOException {
        int length = b.getInt();
        if (length < 0 || length > MAX_TEXT || length > b.remaining()) {
            throw new IOException("bad text length " + length);
        }
        byte[] t = new byte[length];
        b.get(t);
        return new String(t, StandardCharsets.UTF_8);
    }

    private void syncDirectory() throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
