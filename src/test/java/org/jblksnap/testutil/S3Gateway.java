package org.jblksnap.testutil;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The real S3 gateway the tests use (scripts/s3-server, started by scripts/test, which exports
 * JBLKSNAP_S3_ENDPOINT, JBLKSNAP_S3_DIR and the AWS_* keys; child processes inherit them). With JBLKSNAP_S3=off
 * a test that needs it skips with a message; otherwise a missing endpoint fails it. Each test
 * gets buckets of its own, emptied and removed at close.
 */
public final class S3Gateway implements AutoCloseable {
    private final String endpoint;
    private final S3Client client;
    private final List<String> buckets = new ArrayList<>();

    private S3Gateway(String endpoint) {
        this.endpoint = endpoint;
        this.client = client(endpoint);
    }

    /** A client of the gateway at endpoint with the keys of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. */
    static S3Client client(String endpoint) {
        return S3Client.builder().endpointOverride(URI.create(endpoint)).region(Region.US_EAST_1)
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
                        System.getenv("AWS_ACCESS_KEY_ID"), System.getenv("AWS_SECRET_ACCESS_KEY"))))
                .build();
    }

    /** The gateway, or a skip (JBLKSNAP_S3=off) or a failure (no endpoint). */
    public static S3Gateway require() {
        Assumptions.assumeFalse("off".equals(System.getenv("JBLKSNAP_S3")),
                "JBLKSNAP_S3=off: no S3 gateway, this test needs one");
        String endpoint = System.getenv("JBLKSNAP_S3_ENDPOINT");
        if (endpoint == null || endpoint.isEmpty() || System.getenv("AWS_ACCESS_KEY_ID") == null) {
            fail("JBLKSNAP_S3_ENDPOINT and AWS_ACCESS_KEY_ID are not set: run ./scripts/test, or "
                    + "`scripts/s3-server start DIR` and `set -a; . DIR/s3.env` (JBLKSNAP_S3=off skips)");
        }
        return new S3Gateway(endpoint);
    }

    public String endpoint() {
        return endpoint;
    }

    public S3Client client() {
        return client;
    }

    /** A new empty bucket, removed at close. */
    public String newBucket() {
        String name = "t-" + UUID.randomUUID().toString().substring(0, 18);
        client.createBucket(b -> b.bucket(name));
        buckets.add(name);
        return name;
    }

    /** The --repo of a new bucket, under a prefix. */
    public String newRepo() {
        return "s3:" + endpoint + "/" + newBucket() + "/repo";
    }

    /** The bucket of a --repo this gateway made. */
    public static String bucketOf(String repo) {
        return URI.create(repo.substring(3)).getPath().split("/")[1];
    }

    /**
     * Kills the gateway (radosgw, SIGKILL by its pid file in JBLKSNAP_S3_DIR): the requests in
     * flight are cut and new ones refused, until {@link #restartGateway()}.
     */
    public void killGateway() throws Exception {
        Path pidFile = serverDir().resolve("run/rgw.a.pid");
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        ProcessHandle rgw = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("no radosgw with pid " + pid
                + " (" + pidFile + ")"));
        rgw.destroyForcibly();
        rgw.onExit().get(30, TimeUnit.SECONDS);
    }

    /** Starts the gateway again: scripts/s3-server starts what is not running, on the same port, with the same keys. */
    public void restartGateway() throws IOException {
        ChildProcess.of("scripts/s3-server", "start", serverDir().toString()).check();
    }

    private static Path serverDir() {
        String d = System.getenv("JBLKSNAP_S3_DIR");
        if (d == null || d.isEmpty()) {
            fail("JBLKSNAP_S3_DIR is not set: source the s3.env that scripts/s3-server start wrote");
        }
        return Path.of(d);
    }

    public List<S3Object> objects(String bucket) {
        return client.listObjectsV2Paginator(b -> b.bucket(bucket)).contents().stream().toList();
    }

    @Override
    public void close() {
        for (String b : buckets) {
            try {
                for (S3Object o : objects(b)) {
                    client.deleteObject(d -> d.bucket(b).key(o.key()));
                }
                client.deleteBucket(d -> d.bucket(b));
            } catch (RuntimeException e) {
                System.err.println("S3Gateway: bucket " + b + " not removed: " + e);
            }
        }
        client.close();
    }
}
