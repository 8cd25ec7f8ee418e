package org.jblksnap.repo;

import java.util.Map;

/**
 * The S3 credentials and region a client names in its environment ({@code AWS_ACCESS_KEY_ID},
 * {@code AWS_SECRET_ACCESS_KEY}, {@code AWS_SESSION_TOKEN}, {@code AWS_REGION}), carried to
 * the daemon when it backs up for the client, so that a bucket is reached with the client's
 * keys, as when the client reached it itself. Null fields: the store's own chain (the
 * process's environment, system properties, profile files) decides.
 */
public record S3Credentials(String accessKeyId, String secretAccessKey, String sessionToken, String region) {
    public static final S3Credentials NONE = new S3Credentials(null, null, null, null);

    /** What this process's environment names. */
    public static S3Credentials fromEnvironment() {
        return of(System.getenv());
    }

    static S3Credentials of(Map<String, String> env) {
        return new S3Credentials(nonEmpty(env.get("AWS_ACCESS_KEY_ID")), nonEmpty(env.get("AWS_SECRET_ACCESS_KEY")),
                nonEmpty(env.get("AWS_SESSION_TOKEN")), nonEmpty(env.get("AWS_REGION")));
    }

    private static String nonEmpty(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    /** Whether keys are named (both parts). */
    public boolean hasKeys() {
        return accessKeyId != null && secretAccessKey != null;
    }
}
