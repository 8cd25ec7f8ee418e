package org.jblksnap.cli;

import java.io.IOException;

import org.jblksnap.repo.Point;
import org.jblksnap.repo.Repository;
import org.jblksnap.error.InvalidArgumentException;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** --repo, and a point named by number or as "latest" of a device. */
final class RepositoryOptions {
    @Option(names = "--repo", required = true, description = "Repository: a directory, or s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX].")
    String repo;

    @Option(names = {"-d", "--device"}, description = "Device name (needed with --point latest).")
    String device;

    @Mixin
    KeyOptions keys;

    /** Opens the repository, unlocking it with the password or key file given if it is encrypted. */
    Repository open(boolean exclusive) throws IOException {
        return Repository.open(repo, exclusive, keys.files());
    }

    /** The point: a number (of any device), or "latest" for the newest point of --device. */
    long pointOfAnyDevice(Repository r, String spec) throws IOException {
        return spec.equals("latest") ? point(r, spec) : r.points().get(point(spec)).id();
    }

    /** The point: a number, or "latest" for the newest point of --device. */
    long point(Repository r, String spec) throws IOException {
        if (spec.equals("latest")) {
            if (device == null) {
                throw new InvalidArgumentException("--point latest needs -d DEVICE");
            }
            return r.points().latest(device)
                    .orElseThrow(() -> new InvalidArgumentException("no point of device " + device + " in " + repo)).id();
        }
        long id = point(spec);
        Point p = r.points().get(id);
        if (device != null && !p.meta().device().equals(device)) {
            throw new InvalidArgumentException("point " + id + " is of device " + p.meta().device() + ", not " + device);
        }
        return id;
    }

    private static long point(String spec) {
        try {
            return Long.parseLong(spec);
        } catch (NumberFormatException e) {
            throw new InvalidArgumentException("bad point '" + spec + "': a point number or latest");
        }
    }
}
