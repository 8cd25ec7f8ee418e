package org.jblksnap.testutil;

import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * For scripts/bench-offsite, against the gateway of JBLKSNAP_S3_ENDPOINT with the AWS_* keys:
 * {@code create BUCKET} makes a bucket; {@code size BUCKET [PREFIX]} prints {@code objects=N}
 * and {@code bytes=N}, the count and total size of the objects under the prefix, from a listing.
 */
public final class S3Bucket {
    private S3Bucket() {}

    public static void main(String[] args) {
        if (args.length < 2 || !(args[0].equals("create") || args[0].equals("size"))) {
            System.err.println("usage: S3Bucket create BUCKET | size BUCKET [PREFIX]");
            System.exit(2);
        }
        String bucket = args[1];
        try (S3Client client = S3Gateway.client(System.getenv("JBLKSNAP_S3_ENDPOINT"))) {
            if (args[0].equals("create")) {
                client.createBucket(b -> b.bucket(bucket));
                return;
            }
            String prefix = args.length > 2 ? args[2] : "";
            long objects = 0;
            long bytes = 0;
            for (S3Object o : client.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents()) {
                objects++;
                bytes += o.size();
            }
            System.out.println("objects=" + objects);
            System.out.println("bytes=" + bytes);
        }
    }
}
