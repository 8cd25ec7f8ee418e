package org.jblksnap.repo;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Supplier;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProviderChain;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider;
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.auth.credentials.SystemPropertyCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A repository in an S3 bucket under a key prefix (AWS SDK v2). Path-style addressing, since
 * most servers that are not AWS (Ceph's RADOS Gateway, MinIO) do not route bucket names in
 * host names; request checksums only when an operation requires one, since the SDK's default
 * (chunked bodies with a trailing checksum) is refused by many of them. Credentials as every
 * AWS tool takes them: {@code AWS_ACCESS_KEY_ID}/{@code AWS_SECRET_ACCESS_KEY} or the profile
 * files; the region from {@code AWS_REGION} or the profile, else {@value #DEFAULT_REGION}.
 *
 * <p>Durability: an object appears whole when its PUT succeeds, and is then as durable as the
 * service makes it, so {@link #sync} has nothing to do. A pack is written to memory and
 * uploaded in one PUT at {@link Writer#finish} (packs are large: the requests per GiB stored
 * stay few). {@link #create} is a PUT with {@code If-None-Match: *}. The lock is objects under
 * {@code locks/} ({@link ObjectLocks}). Every failure is one line: the service's error code
 * and what it means, or why the endpoint could not be reached.
 */
public final class S3Store implements ObjectStore {
    static final String DEFAULT_REGION = "us-east-1";
    static final int SEGMENT = 1 << 20;
    static final int SEGMENTS = 48;

    private final String location;
    private final URI endpoint;
    private final String bucket;
    /** "" or the prefix with a trailing slash. */
    private final String base;
    private final S3Client s3;
    /** Segments of packs recently read, and read ahead. */
    private final PackSegments segments = new PackSegments(SEGMENT, SEGMENTS, this::fetch);

    /** @param given keys and region a client named (the daemon backing up for it), or {@link S3Credentials#NONE} */
    S3Store(String location, URI endpoint, String bucket, String prefix, S3Credentials given) {
        this.location = location;
        this.endpoint = endpoint;
        this.bucket = bucket;
        this.base = prefix.isEmpty() ? "" : prefix + "/";
        this.s3 = S3Client.builder()
                .endpointOverride(endpoint)
                .region(given.region() != null ? Region.of(given.region()) : region())
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .credentialsProvider(given.hasKeys()
                        ? StaticCredentialsProvider.create(given.sessionToken() == null
                                ? AwsBasicCredentials.create(given.accessKeyId(), given.secretAccessKey())
                                : AwsSessionCredentials.create(given.accessKeyId(), given.secretAccessKey(),
                                        given.sessionToken()))
                        : AwsCredentialsProviderChain.of(EnvironmentVariableCredentialsProvider.create(),
                                SystemPropertyCredentialsProvider.create(), ProfileCredentialsProvider.create()))
                .httpClientBuilder(ApacheHttpClient.builder()
                        .maxConnections(32)
                        .connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(Duration.ofSeconds(120)))
                .build();
    }

    private static Region region() {
        try {
            return new DefaultAwsRegionProviderChain().getRegion();
        } catch (SdkClientException none) {
            return Region.of(DEFAULT_REGION);
        }
    }

    @Override
    public String location() {
        return location;
    }

    @Override
    public String describe(String name) {
        return location + "/" + name;
    }

    private String key(String name) {
        return base + name;
    }

    @Override
    public void checkReachable() throws IOException {
        call("reach the bucket", null, () -> s3.headBucket(b -> b.bucket(bucket)));
    }

    @Override
    public void prepare() throws IOException {
        checkReachable();
        var page = call("list", null, () -> s3.listObjectsV2(b -> b.bucket(bucket).prefix(base).maxKeys(1)));
        if (!page.contents().isEmpty()) {
            throw new RepositoryException("cannot create a repository in " + location + ": it is not empty");
        }
    }

    @Override
    public byte[] get(String name) throws IOException {
        return call("read", name, () -> s3.getObjectAsBytes(b -> b.bucket(bucket).key(key(name)))).asByteArray();
    }

    /**
     * Packs are read in segments of {@value #SEGMENT} bytes, the last {@value #SEGMENTS} kept,
     * read ahead when read in order ({@link PackSegments}): a restore or a check reads a pack's
     * entries in order, one small range each.
     */
    @Override
    public byte[] getRange(String name, long offset, int length) throws IOException {
        return PackCatalog.isPackName(name) ? segments.read(name, offset, length) : fetch(name, offset, length);
    }

    private byte[] fetch(String name, long offset, int length) throws IOException {
        if (length == 0) {
            return new byte[0];
        }
        // the body read straight into an array of its size: getObjectAsBytes grows a buffer
        // and copies it out twice (a third of a restore's samples in bench-offsite's profile)
        ResponseInputStream<GetObjectResponse> in;
        try {
            in = call("read", name, () -> s3.getObject(b -> b.bucket(bucket).key(key(name))
                    .range("bytes=" + offset + "-" + (offset + length - 1)), ResponseTransformer.toInputStream()));
        } catch (RangeNotSatisfiable e) {
            return new byte[0];
        }
        try (in) {
            Long size = in.response().contentLength();
            return in.readNBytes(size == null ? length : (int) Math.min(size, length));
        } catch (IOException e) {
            throw new RepositoryException(location + ": cannot read " + name + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<Stored> list(String prefix) throws IOException {
        List<Stored> all = new ArrayList<>();
        call("list", prefix, () -> {
            for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(key(prefix))).contents()) {
                all.add(new Stored(o.key().substring(base.length()), o.size(), o.lastModified()));
            }
            return null;
        });
        all.sort((a, b) -> a.name().compareTo(b.name()));
        return all;
    }

    @Override
    public void put(String name, ByteBuffer content) throws IOException {
        upload(name, content, false);
    }

    @Override
    public boolean create(String name, ByteBuffer content) throws IOException {
        try {
            upload(name, content, true);
            return true;
        } catch (PreconditionFailed exists) {
            return false;
        }
    }

    private void upload(String name, ByteBuffer content, boolean onlyIfAbsent) throws IOException {
        byte[] bytes;
        int off;
        int len = content.remaining();
        if (content.hasArray()) {
            bytes = content.array();
            off = content.arrayOffset() + content.position();
        } else {
            bytes = new byte[len];
            content.duplicate().get(bytes);
            off = 0;
        }
        call("write", name, () -> s3.putObject(b -> {
            b.bucket(bucket).key(key(name)).contentLength((long) len);
            if (onlyIfAbsent) {
                b.ifNoneMatch("*");
            }
        }, RequestBody.fromContentProvider(() -> new ByteArrayInputStream(bytes, off, len), len,
                "application/octet-stream")));
    }

    @Override
    public void delete(String name) throws IOException {
        segments.forget(name);
        call("delete", name, () -> s3.deleteObject(b -> b.bucket(bucket).key(key(name))));
    }

    @Override
    public Writer writer(String name) {
        return new BufferWriter(name);
    }

    @Override
    public void used(String name) {
        // an object another process made is durable once its PUT succeeded
    }

    @Override
    public void sync() {
        // every PUT is durable when it returns
    }

    @Override
    public Lock lock(LockMode mode) throws IOException {
        return ObjectLocks.acquire(this, mode);
    }

    @Override
    public java.util.Set<String> liveLocks() throws IOException {
        return ObjectLocks.live(this, ObjectLocks.stale());
    }

    @Override
    public void close() {
        s3.close();
    }

    /** A 412 to a conditional PUT: the object exists. */
    private static final class PreconditionFailed extends IOException {
        PreconditionFailed() {
            super("exists");
        }
    }

    /** A 416 to a ranged GET: the range starts past the object's end. */
    private static final class RangeNotSatisfiable extends IOException {
        RangeNotSatisfiable() {
            super("past the end");
        }
    }

    /** Runs one request; its failure becomes an IOException of one line. */
    private <T> T call(String what, String name, Supplier<T> request) throws IOException {
        try {
            return request.get();
        } catch (NoSuchKeyException e) {
            throw new NoSuchFileException(describe(name));
        } catch (S3Exception e) {
            if (e.statusCode() == 412) {
                throw new PreconditionFailed();
            }
            if (e.statusCode() == 416) {
                throw new RangeNotSatisfiable();
            }
            if (e.statusCode() == 404 && name != null && !"NoSuchBucket".equals(code(e))) {
                throw new NoSuchFileException(describe(name));
            }
            throw new StoreAccessException(location + ": cannot " + what + (name == null ? "" : " " + name) + ": "
                    + reason(e), e);
        } catch (SdkClientException e) {
            throw new StoreAccessException(location + ": cannot " + what + (name == null ? "" : " " + name) + ": "
                    + reason(e), e);
        } catch (SdkException e) {
            throw new StoreAccessException(location + ": cannot " + what + ": " + firstLine(e.getMessage()), e);
        }
    }

    private static String code(S3Exception e) {
        return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
    }

    private String reason(S3Exception e) {
        String code = code(e);
        if ("NoSuchBucket".equals(code) || (code == null || code.isEmpty()) && e.statusCode() == 404) {
            return "bucket " + bucket + " does not exist";
        }
        if (e.statusCode() == 403 || "InvalidAccessKeyId".equals(code) || "SignatureDoesNotMatch".equals(code)) {
            return "access denied (" + (code == null || code.isEmpty() ? "HTTP 403" : code)
                    + "): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or the profile";
        }
        return (code == null || code.isEmpty() ? "" : code + ", ") + "HTTP " + e.statusCode();
    }

    private String reason(SdkClientException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException) {
                return "cannot connect to " + endpoint + " (" + firstLine(t.getMessage()) + ")";
            }
            if (t instanceof UnknownHostException) {
                return "unknown host " + endpoint.getHost();
            }
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            // after ConnectException (one of them): a connection the endpoint dropped while a
            // request was on it, e.g. pooled from before the gateway went away (broken pipe,
            // connection reset), on every retry
            if (t instanceof SocketException) {
                return "lost the connection to " + endpoint + " (" + firstLine(t.getMessage()) + ")";
            }
        }
        String m = firstLine(e.getMessage());
        if (m.contains("credentials")) {
            return "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or an AWS profile";
        }
        return m;
    }

    private static String firstLine(String m) {
        if (m == null) {
            return "unknown error";
        }
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /**
     * A pack held in memory while written, in parts of {@value #PART} bytes (appending never
     * copies what is there), uploaded in one PUT at finish.
     */
    private final class BufferWriter implements Writer {
        private static final int PART = 4 << 20;
        private final String name;
        // guarded by this
        private List<byte[]> parts = new ArrayList<>();
        private long end;
        private boolean done;

        BufferWriter(String name) {
            this.name = name;
        }

        @Override
        public synchronized void write(ByteBuffer b) throws IOException {
            check();
            if (end + b.remaining() > Integer.MAX_VALUE - 16) {
                throw new IOException("object " + name + " would exceed 2 GiB");
            }
            while (b.hasRemaining()) {
                int in = (int) (end % PART);
                if (in == 0) {
                    parts.add(new byte[PART]);
                }
                int n = Math.min(b.remaining(), PART - in);
                b.get(parts.getLast(), in, n);
                end += n;
            }
        }

        @Override
        public synchronized long size() {
            return end;
        }

        @Override
        public synchronized byte[] read(long offset, int length) throws IOException {
            check();
            long from = Math.min(offset, end);
            byte[] out = new byte[(int) (Math.min(end, offset + length) - from)];
            for (int done = 0; done < out.length;) {
                long at = from + done;
                int n = (int) Math.min(out.length - done, PART - at % PART);
                System.arraycopy(parts.get((int) (at / PART)), (int) (at % PART), out, done, n);
                done += n;
            }
            return out;
        }

        @Override
        public void finish() throws IOException {
            List<byte[]> all;
            long n;
            synchronized (this) {
                check();
                all = parts;
                n = end;
            }
            call("write", name, () -> s3.putObject(b -> b.bucket(bucket).key(key(name)).contentLength(n),
                    RequestBody.fromContentProvider(() -> new SequenceInputStream(Collections.enumeration(
                            all.stream().map(p -> (InputStream) new ByteArrayInputStream(p)).toList())) {
                        private long left = n;

                        @Override
                        public int read(byte[] b, int off, int len) throws IOException {
                            if (left <= 0) {
                                return -1;
                            }
                            int r = super.read(b, off, (int) Math.min(len, left));
                            if (r > 0) {
                                left -= r;
                            }
                            return r;
                        }

                        @Override
                        public int read() throws IOException {
                            if (left <= 0) {
                                return -1;
                            }
                            left--;
                            return super.read();
                        }
                    }, n, "application/octet-stream")));
            synchronized (this) {
                done = true;
                parts = null;
            }
        }

        @Override
        public synchronized void abandon() {
            done = true;
            parts = null;
        }

        private void check() throws IOException {
            if (done) {
                throw new IOException("object " + name + " is no longer being written");
            }
        }
    }
}
