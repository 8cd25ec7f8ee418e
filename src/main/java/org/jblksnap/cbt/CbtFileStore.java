package org.jblksnap.cbt;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.UUID;
import java.util.logging.Logger;
import java.util.zip.CRC32C;

import org.jblksnap.device.FileIo;

/**
 * CBT maps saved as one file per device in a directory ({@code <name>.cbt}). The file's format,
 * and why it is deleted at claim, are in docs/STATE.md ("CBT state file").
 */
public final class CbtFileStore implements CbtStore {
    private static final Logger LOG = Logger.getLogger(CbtFileStore.class.getName());
    private static final byte[] MAGIC = "JBSCBT01".getBytes(StandardCharsets.US_ASCII);

    private final Path dir;

    public CbtFileStore(Path dir) throws IOException {
        this.dir = Files.createDirectories(dir);
    }

    private Path fileOf(String name) {
        return dir.resolve(name + ".cbt");
    }

    @Override
    public CbtState claim(String name, Path path, long capacity, int blockShift) throws IOException {
        Path file = fileOf(name);
        if (!Files.exists(file)) {
            LOG.info(() -> "device " + name + ": no saved CBT (first attach, or the last stop was not clean): new generation");
            return null;
        }
        CbtState state;
        String why;
        try {
            byte[] all = Files.readAllBytes(file);
            Saved saved = decode(all);
            state = saved.state;
            why = saved.path.equals(path.toAbsolutePath().toString()) ? null : "it was saved for " + saved.path;
            if (why == null && state.capacity() != capacity) {
                why = "the device size changed from " + state.capacity() + " to " + capacity;
            }
            if (why == null && state.blockShift() != blockShift) {
                why = "the tracking block size changed from 2^" + state.blockShift() + " to 2^" + blockShift;
            }
            if (why == null && saved.mtime != mtimeOf(path)) {
                why = "the backing file was modified while it was not tracked";
            }
        } catch (IOException | RuntimeException e) {
            state = null;
            why = "the saved map is unreadable (" + e.getMessage() + ")";
        }
        Files.delete(file);
        syncDirectory();
        if (why != null) {
            String reason = why;
            LOG.warning(() -> "device " + name + ": saved CBT not used because " + reason + ": new generation");
            return null;
        }
        CbtState s = state;
        LOG.info(() -> "device " + name + ": CBT loaded, generation " + s.generation() + ", changes number " + s.previous());
        return state;
    }

    @Override
    public void save(String name, Path path, CbtState state) throws IOException {
        byte[] p = path.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8);
        int n = state.readable().length;
        ByteBuffer b = ByteBuffer.allocate(56 + p.length + 2 * n + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putLong(state.capacity()).putInt(state.blockShift()).putInt(state.active()).putInt(state.previous())
                .putLong(state.generation().getMostSignificantBits()).putLong(state.generation().getLeastSignificantBits())
                .putLong(mtimeOf(path)).putInt(p.length).put(p).put(state.readable()).put(state.writable());
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        b.flip();
        Path tmp = dir.resolve("." + name + ".cbt.tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            FileIo.writeFully(ch, 0, b);
            ch.force(true);
        }
        Files.move(tmp, fileOf(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory();
    }

    private record Saved(CbtState state, String path, long mtime) {
    }

    private static Saved decode(byte[] all) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if (all.length < 60) {
            throw new IOException("file too short");
        }
        CRC32C crc = new CRC32C();
        crc.update(all, 0, all.length - 4);
        if ((int) crc.getValue() != b.getInt(all.length - 4)) {
            throw new IOException("checksum mismatch");
        }
        byte[] magic = new byte[8];
        b.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            throw new IOException("not a jblksnap CBT file");
        }
        long capacity = b.getLong();
        int shift = b.getInt();
        int active = b.getInt();
        int previous = b.getInt();
        UUID generation = new UUID(b.getLong(), b.getLong());
        long mtime = b.getLong();
        byte[] p = new byte[b.getInt()];
        b.get(p);
        int n = (b.remaining() - 4) / 2;
        byte[] readable = new byte[n];
        byte[] writable = new byte[n];
        b.get(readable).get(writable);
        return new Saved(new CbtState(capacity, shift, generation, active, previous, readable, writable),
                new String(p, StandardCharsets.UTF_8), mtime);
    }

    /** The backing file's modification time in ns; -1 for a block device, whose mtime means nothing. */
    private static long mtimeOf(Path path) throws IOException {
        BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
        return a.isRegularFile() ? a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS) : -1;
    }

    private void syncDirectory() throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
