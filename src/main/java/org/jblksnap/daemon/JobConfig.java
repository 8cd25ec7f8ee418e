package org.jblksnap.daemon;

import java.io.IOException;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.params.Sizes;
import org.jblksnap.repo.KeyFiles;
import org.jblksnap.repo.ObjectStore;
import org.jblksnap.repo.RepositoryConfig;
import org.jblksnap.repo.RepositoryLocation;
import org.jblksnap.repo.Retention;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One named job of the daemon's config: which devices it backs up into which repository,
 * when, what it keeps and when it verifies. Every field is checked when the config is
 * loaded, so a bad schedule or a job without a keep rule refuses that job with one clear
 * line (the daemon runs the others, see {@link DaemonConfig}); what can change while it runs
 * (a device attached or not, a repository reachable or not) is checked by each run and fails
 * that run alone.
 *
 * <pre>
 * {"name": "nightly", "devices": ["disk0", "disk1"], "repo": "/srv/backup", "password_file": "/etc/jblksnap/pw",
 *  "schedule": "0 2 * * *", "keep_daily": 7, "keep_weekly": 4, "verify": "0 4 * * 0",
 *  "storage": "/var/tmp", "limit": "4G"}
 * </pre>
 * A repository the job makes (repo, copy_to) is encrypted under its keys; {@code "encryption":
 * "none"} makes repo unencrypted (and copy_to too, unless copy_password_file or copy_key_file is
 * given), and a job with neither keys nor that fails its runs until the repository exists:
 * <pre>
 * {"name": "scratch", "devices": ["disk2"], "repo": "/srv/scratch", "encryption": "none", "schedule": "0 * * * *",
 *  "keep_last": 24}
 * </pre>
 *
 * @param repo a directory (absolute) or an s3: URL
 * @param keys the password_file or key_file that unlocks an encrypted repository (read by each run)
 * @param verify when to verify the repository, or null
 * @param storage where the run's snapshot keeps its difference storage
 * @param copyTo a second repository (a directory or an s3: URL) each backup's points are copied to, or null
 * @param copyKeys what unlocks copyTo: copy_password_file or copy_key_file, else the job's own keys
 * @param encrypted whether the repositories the job makes (repo, copy_to) are encrypted: unless
 *     {@code "encryption": "none"}, which takes no password_file or key_file (a copy_to with
 *     copy keys is encrypted still); an encrypted one needs them
 */
record JobConfig(String name, List<String> devices, String repo, KeyFiles keys, JobSchedule schedule,
        Retention retention, JobSchedule verify, Path storage, long limit, String copyTo, KeyFiles copyKeys,
        boolean encrypted) {
    static final long DEFAULT_LIMIT = 4L << 30;

    /** The name of a job, from its JSON object; what the job is known by, even when the rest is wrong. */
    static String name(JsonNode v) {
        if (!v.isObject()) {
            throw new InvalidArgumentException("a job is a JSON object, got " + v);
        }
        String name = v.path("name").asText("");
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new InvalidArgumentException("a job needs a name of letters, digits, '.', '_' and '-', got "
                    + (v.has("name") ? v.get("name") : "none"));
        }
        return name;
    }

    static JobConfig parse(JsonNode v, ZoneId zone) {
        String name = name(v);
        String job = "job " + name;
        List<String> devices = new ArrayList<>();
        String repo = null;
        String passwordFile = null;
        String keyFile = null;
        String copyTo = null;
        String copyPasswordFile = null;
        String copyKeyFile = null;
        String encryption = RepositoryConfig.ENCRYPTED;
        JobSchedule schedule = null;
        JobSchedule verify = null;
        String storage = System.getProperty("java.io.tmpdir");
        long limit = DEFAULT_LIMIT;
        int[] keep = new int[Retention.RULES.size()];
        for (Iterator<String> it = v.fieldNames(); it.hasNext();) {
            String f = it.next();
            JsonNode x = v.get(f);
            switch (f) {
                case "name" -> {
                }
                case "devices" -> {
                    if (!x.isArray()) {
                        throw new InvalidArgumentException(job + ": devices is a list of device names");
                    }
                    x.forEach(d -> devices.add(d.asText()));
                }
                case "repo" -> repo = x.asText();
                case "password_file" -> passwordFile = x.asText();
                case "key_file" -> keyFile = x.asText();
                case "schedule" -> schedule = JobSchedule.parse(job + ": schedule", x.asText(), zone);
                case "verify" -> verify = JobSchedule.parse(job + ": verify", x.asText(), zone);
                case "storage" -> storage = x.asText();
                case "limit" -> limit = Sizes.parse(job + ": limit", x.asText());
                case "copy_to" -> copyTo = x.asText();
                case "copy_password_file" -> copyPasswordFile = x.asText();
                case "copy_key_file" -> copyKeyFile = x.asText();
                case "encryption" -> encryption = x.asText();
                default -> {
                    int rule = f.startsWith("keep_") ? Retention.RULES.indexOf(f.substring(5)) : -1;
                    if (rule < 0) {
                        throw new InvalidArgumentException(job + ": unknown field '" + f + "'");
                    }
                    if (!x.canConvertToInt() || x.asInt() < Retention.ALL) {
                        throw new InvalidArgumentException(job + ": " + f + " is a number of points (-1: all), got " + x);
                    }
                    keep[rule] = x.asInt();
                }
            }
        }
        if (devices.isEmpty()) {
            throw new InvalidArgumentException(job + ": no devices");
        }
        if (repo == null || repo.isEmpty()) {
            throw new InvalidArgumentException(job + ": no repo");
        }
        repo = location(job + ": repo", repo);
        if (schedule == null) {
            throw new InvalidArgumentException(job + ": no schedule (cron's five fields, e.g. \"0 2 * * *\")");
        }
        Retention retention;
        try {
            retention = new Retention(keep[0], keep[1], keep[2], keep[3], keep[4], keep[5]);
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException(job + ": " + e.getMessage());
        }
        if (passwordFile != null && keyFile != null) {
            throw new InvalidArgumentException(job + ": give password_file or key_file, not both");
        }
        KeyFiles keys = new KeyFiles(passwordFile == null ? null : Path.of(passwordFile),
                keyFile == null ? null : Path.of(keyFile)).absolute();
        if ((copyPasswordFile != null || copyKeyFile != null) && copyTo == null) {
            throw new InvalidArgumentException(job + ": copy_password_file and copy_key_file need copy_to");
        }
        if (copyPasswordFile != null && copyKeyFile != null) {
            throw new InvalidArgumentException(job + ": give copy_password_file or copy_key_file, not both");
        }
        KeyFiles copyKeys = copyPasswordFile == null && copyKeyFile == null ? keys
                : new KeyFiles(copyPasswordFile == null ? null : Path.of(copyPasswordFile),
                        copyKeyFile == null ? null : Path.of(copyKeyFile)).absolute();
        // copy_to may still be encrypted under copy_password_file or copy_key_file
        boolean encrypted = encrypted(job + ": ", encryption, keys);
        if (copyTo != null) {
            copyTo = location(job + ": copy_to", copyTo);
            if (copyTo.equals(repo)) {
                throw new InvalidArgumentException(job + ": copy_to is the job's own repository");
            }
        }
        return new JobConfig(name, List.copyOf(devices), repo, keys, schedule, retention, verify, Path.of(storage), limit,
                copyTo, copyKeys, encrypted);
    }

    /**
     * A repository location as the job's runs name it (a directory made absolute); a malformed
     * one refuses the job at load, not at its first run. what starts the error.
     */
    private static String location(String what, String spec) {
        try (ObjectStore checked = RepositoryLocation.open(spec)) {
            return RepositoryLocation.absolute(spec);
        } catch (IOException | RuntimeException e) {
            throw new InvalidArgumentException(what + ": " + e.getMessage());
        }
    }

    /**
     * Whether a repository a job or the backup verb makes is encrypted, by its encryption mode
     * (aes-256-gcm or none); none takes no password_file or key_file. what starts the error.
     */
    static boolean encrypted(String what, String mode, KeyFiles keys) {
        if (!mode.equals(RepositoryConfig.ENCRYPTED) && !mode.equals(RepositoryConfig.NOT_ENCRYPTED)) {
            throw new InvalidArgumentException(what + "encryption is aes-256-gcm or none, got '" + mode + "'");
        }
        boolean encrypted = mode.equals(RepositoryConfig.ENCRYPTED);
        if (!encrypted && keys.given()) {
            throw new InvalidArgumentException(what + "encryption none takes no password_file or key_file");
        }
        return encrypted;
    }
}
