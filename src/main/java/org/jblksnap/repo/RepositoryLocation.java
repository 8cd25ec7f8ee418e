package org.jblksnap.repo;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;

import org.jblksnap.error.InvalidArgumentException;

/**
 * Where {@code --repo} says a repository is: a directory ({@code --repo DIR}) or an S3 bucket
 * and key prefix ({@code --repo s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]}, restic's form).
 */
public final class RepositoryLocation {
    static final String S3 = "s3:";
    private static final String FORM = "s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]";

    private RepositoryLocation() {
    }

    /** The location as another process must name it: a directory made absolute, an S3 URL as it is. */
    public static String absolute(String spec) {
        return spec.startsWith(S3) ? spec : Path.of(spec).toAbsolutePath().normalize().toString();
    }

    /** The store at that location (not contacted yet). */
    public static ObjectStore open(String spec) throws InvalidArgumentException {
        return open(spec, S3Credentials.NONE);
    }

    /** The same, a bucket reached with the keys and region given when they are named. */
    public static ObjectStore open(String spec, S3Credentials s3) throws InvalidArgumentException {
        if (!spec.startsWith(S3)) {
            if (spec.isEmpty()) {
                throw new InvalidArgumentException("empty repository location");
            }
            return new DirectoryStore(Path.of(spec));
        }
        URI uri;
        try {
            uri = new URI(spec.substring(S3.length()));
        } catch (URISyntaxException e) {
            throw malformed(spec, e.getReason());
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
            throw malformed(spec, "the scheme is not http or https");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw malformed(spec, "no host");
        }
        if (uri.getQuery() != null || uri.getFragment() != null || uri.getUserInfo() != null) {
            throw malformed(spec, "a query, fragment or user part is not allowed");
        }
        String path = uri.getPath() == null ? "" : uri.getPath();
        String[] parts = path.replaceAll("^/+", "").split("/", 2);
        String bucket = parts[0];
        if (bucket.isEmpty()) {
            throw malformed(spec, "no bucket");
        }
        if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
            throw malformed(spec, "'" + bucket + "' is not a bucket name (3 to 63 lower-case letters, digits, dots, hyphens)");
        }
        String prefix = parts.length > 1 ? parts[1].replaceAll("/+$", "") : "";
        if (prefix.contains("//")) {
            throw malformed(spec, "an empty part in the prefix");
        }
        URI endpoint = URI.create(uri.getScheme() + "://" + uri.getRawAuthority());
        return new S3Store(spec.replaceAll("/+$", ""), endpoint, bucket, prefix, s3);
    }

    private static InvalidArgumentException malformed(String spec, String why) {
        return new InvalidArgumentException("malformed repository URL '" + spec + "': " + why + " (expected " + FORM + ")");
    }
}
