package org.jblksnap.repo;

import java.util.Random;

/**
 * A backup loop in a JVM of its own, for {@link ConcurrentPruneS3Test}: {@code REPO DEVICE SECONDS
 * SEED}. Until the time is up it opens the repository, loads the catalogue, waits a little (a
 * prune may write a marker meanwhile), commits a point of {@link #content} and prints
 * {@code committed ID SEED}; then the next seed.
 */
public final class WriterChild {
    static final int CS = 4096;
    static final int CHUNKS = 256;
    /** Chunks shared by all points and devices (so dedup meets condemned packs), as seeds. */
    static final int POOL = 384;

    private WriterChild() {
    }

    /** A point's content: most chunks from the shared pool, the others its own. */
    static byte[] content(String device, long seed) {
        Random rnd = new Random(seed * 31 + device.hashCode());
        byte[] out = new byte[CHUNKS * CS];
        for (int c = 0; c < CHUNKS; c++) {
            long chunkSeed = rnd.nextInt(10) < 7 ? 1_000_000 + rnd.nextInt(POOL) : rnd.nextLong();
            System.arraycopy(Points.random(CS, chunkSeed), 0, out, c * CS, CS);
        }
        return out;
    }

    public static void main(String[] args) throws Exception {
        String repo = args[0];
        String device = args[1];
        long end = System.nanoTime() + Long.parseLong(args[2]) * 1_000_000_000L;
        long seed = Long.parseLong(args[3]);
        Random pause = new Random(seed);
        while (System.nanoTime() < end) {
            byte[] content = content(device, seed);
            try (Repository r = Repository.open(repo, false)) {
                r.packs().contains(EntryType.CHUNK, r.packs().id(content, 0, CS)); // the catalogue, now
                Thread.sleep(pause.nextInt(1500));
                long id = Points.commit(r, device, content);
                System.out.println("committed " + id + " " + seed);
            }
            seed++;
        }
    }
}
