package org.jblksnap.repo;

import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Holds a directory repository's lock in another process: {@code DIR MODE SECONDS}, MODE being
 * {@code shared} (a backup or restore), {@code prune}, or {@code legacy} (all of the lock file
 * held shared, as a jblksnap from before concurrent prune did). Prints {@code ready} just before
 * it asks for the lock and {@code opened} once it holds it, holds it SECONDS, then ends; an
 * error ends it with a non-zero exit.
 */
public final class LockHolderChild {
    private LockHolderChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long millis = Long.parseLong(args[2]) * 1000;
        System.out.println("ready");
        System.out.flush();
        switch (args[1]) {
            case "shared" -> {
                try (Repository r = Repository.open(dir, false)) {
                    opened(millis);
                }
            }
            case "prune" -> {
                try (Repository r = Repository.openForPrune(dir)) {
                    opened(millis);
                }
            }
            case "legacy" -> {
                try (FileChannel ch = FileChannel.open(dir.resolve("lock"), StandardOpenOption.READ,
                        StandardOpenOption.WRITE); var lock = ch.lock(0, Long.MAX_VALUE, true)) {
                    opened(millis);
                }
            }
            default -> throw new IllegalArgumentException("mode " + args[1]);
        }
    }

    private static void opened(long millis) throws InterruptedException {
        System.out.println("opened");
        System.out.flush();
        Thread.sleep(millis);
    }
}
