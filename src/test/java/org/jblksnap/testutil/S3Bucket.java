package org.jblksnap.testutil;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.stream.Stream;

import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * For scripts/bench-offsite, against the gateway of JBLKSNAP_S3_ENDPOINT with the AWS_* keys:
 * {@code create BUCKET} makes a bucket; {@code size BUCKET [PREFIX]} prints {@code objects=N}
 * and {@code bytes=N}, the count and total size of the objects under the prefix, from a listing.
 * {@code put BUCKET PREFIX DIR} stores every file under DIR (but empty ones) as the object PREFIX/its path, and
 * {@code get BUCKET PREFIX DIR} every object under PREFIX/ back into DIR, {@link #AT_ONCE} at a
 * time, streamed from and to the files: the same objects a repository holds, moved by the same
 * client library with no work between, which is the store's limit here (the caller syncs).
 */
public final class S3Bucket {
    static final int AT_ONCE = 8;

    private S3Bucket() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || !List.of("create", "size", "put", "get").contains(args[0])
                || (args[0].equals("put") || args[0].equals("get")) && args.length != 4) {
            System.err.println("usage: S3Bucket create BUCKET | size BUCKET [PREFIX] | put BUCKET PREFIX DIR"
                    + " | get BUCKET PREFIX DIR");
            System.exit(2);
        }
        String bucket = args[1];
        try (S3Client client = S3Gateway.client(System.getenv("JBLKSNAP_S3_ENDPOINT"))) {
            switch (args[0]) {
                case "create" -> client.createBucket(b -> b.bucket(bucket));
                case "size" -> {
                    long objects = 0;
                    long bytes = 0;
                    for (S3Object o : listed(client, bucket, args.length > 2 ? args[2] : "")) {
                        objects++;
                        bytes += o.size();
                    }
                    System.out.println("objects=" + objects);
                    System.out.println("bytes=" + bytes);
                }
                case "put" -> put(client, bucket, args[2], Path.of(args[3]));
                case "get" -> get(client, bucket, args[2], Path.of(args[3]));
                default -> throw new IllegalStateException(args[0]);
            }
        }
    }

    private static Iterable<S3Object> listed(S3Client client, String bucket, String prefix) {
        return client.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents();
    }

    private interface Transfer {
        void run() throws IOException;
    }

    private static void put(S3Client client, String bucket, String prefix, Path dir) throws Exception {
        List<Transfer> all = new ArrayList<>();
        try (Stream<Path> files = Files.walk(dir)) {
            // empty files (the directory's lock file) are not data, and the gateway refuses a chunked empty body
            for (Path f : files.filter(f -> Files.isRegularFile(f) && f.toFile().length() > 0).toList()) {
                String key = prefix + "/" + dir.relativize(f);
                all.add(() -> client.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromFile(f)));
            }
        }
        run(all);
    }

    private static void get(S3Client client, String bucket, String prefix, Path dir) throws Exception {
        List<Transfer> all = new ArrayList<>();
        for (S3Object o : listed(client, bucket, prefix + "/")) {
            Path f = dir.resolve(o.key().substring(prefix.length() + 1));
            all.add(() -> {
                Files.createDirectories(f.getParent());
                client.getObject(b -> b.bucket(bucket).key(o.key()), ResponseTransformer.toFile(f));
            });
        }
        run(all);
    }

    /** Runs the transfers AT_ONCE at a time on virtual threads; prints objects= and bytes=. */
    private static void run(List<Transfer> all) throws Exception {
        Semaphore slots = new Semaphore(AT_ONCE);
        List<Future<?>> done = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Transfer t : all) {
                done.add(pool.submit(() -> {
                    slots.acquire();
                    try {
                        t.run();
                    } finally {
                        slots.release();
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        }
        System.out.println("objects=" + all.size());
    }
}
