package org.jblksnap.bench;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

import org.jblksnap.repo.CatalogCache;
import org.jblksnap.repo.KeyFiles;
import org.jblksnap.repo.ObjectStore;
import org.jblksnap.repo.Points;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.jblksnap.repo.RepositoryLocation;

/**
 * The catalogue load of a run against a repository, from scratch (what every run did) and
 * through a {@link CatalogCache} that loaded the repository once before (a daemon's next run):
 * wall time of the load alone (after the open) and the requests it asks of the store, GETs
 * (whole or ranged: a pack's footer is three, header, footer and index) and LISTs. When REPOSITORY holds no repository it is made first: RUNS runs of about
 * PACKS / RUNS packs each (random data, 4 KiB chunks, 1 MiB packs: about 250 entries a pack),
 * one index object a run.
 *
 * <pre>java -cp "target/classes:target/test-classes:$(cat target/test.classpath)" \
 *     org.jblksnap.bench.CatalogLoadBench REPOSITORY [PACKS=300] [RUNS=30] [ROUNDS=5]</pre>
 */
public final class CatalogLoadBench {
    private static final int CHUNK = 4 << 10;
    private static final long PACK = 1 << 20;

    private CatalogLoadBench() {
    }

    public static void main(String[] a) throws Exception {
        String repo = a[0];
        int packs = a.length > 1 ? Integer.parseInt(a[1]) : 300;
        int runs = a.length > 2 ? Integer.parseInt(a[2]) : 30;
        int rounds = a.length > 3 ? Integer.parseInt(a[3]) : 5;
        try (Repository r = Repository.openOrCreate(RepositoryLocation.open(repo), RepositoryConfig.of(CHUNK, PACK),
                KeyFiles.NONE)) {
            if (r.points().ids().isEmpty()) {
                for (int i = 0; i < runs; i++) {
                    Points.commit(r, "vd" + i, Points.random((int) (packs / runs * PACK), i)); // its index object
                }
            }
        }
        CatalogCache cache = new CatalogCache(1);
        load(repo, cache, new double[1], 0);
        double[] scratch = new double[rounds];
        double[] cached = new double[rounds];
        for (int i = 0; i < rounds; i++) {
            String s = load(repo, CatalogCache.NONE, scratch, i);
            System.out.println("round " + (i + 1) + ": from scratch " + s + "; through the cache "
                    + load(repo, cache, cached, i));
        }
        Arrays.sort(scratch);
        Arrays.sort(cached);
        System.out.printf("median: from scratch %.1f ms, through the cache %.1f ms%n", scratch[rounds / 2],
                cached[rounds / 2]);
    }

    /** Opens the repository through the cache and loads its catalogue; what the load took (ms into ms[i]). */
    private static String load(String repo, CatalogCache cache, double[] ms, int i) throws Exception {
        AtomicLong gets = new AtomicLong();
        AtomicLong lists = new AtomicLong();
        ObjectStore real = RepositoryLocation.open(repo);
        ObjectStore store = (ObjectStore) Proxy.newProxyInstance(ObjectStore.class.getClassLoader(),
                new Class<?>[] {ObjectStore.class}, (self, m, args) -> {
                    if (m.getName().startsWith("get")) {
                        gets.incrementAndGet();
                    } else if (m.getName().equals("list")) {
                        lists.incrementAndGet();
                    }
                    try {
                        return m.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        try (Repository r = Repository.open(store, ObjectStore.LockMode.SHARED, KeyFiles.NONE, cache)) {
            gets.set(0);
            lists.set(0);
            long t0 = System.nanoTime();
            r.packs().damagedPacks();
            ms[i] = (System.nanoTime() - t0) / 1e6;
            return String.format("%.1f ms, %d GET, %d LIST", ms[i], gets.get(), lists.get());
        }
    }
}
