package org.jblksnap.control;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.jblksnap.error.InvalidArgumentException;

/**
 * What runs around snapshot_take: the user's commands just before it (a VM's guest agent
 * freezing its file systems, a database flushing) and just after it (thawing them). The
 * daemon's {@code daemon.TakeHookCommands} runs them, with a timeout.
 *
 * <p>The protocol: the pre-take command runs first; when it fails or does not finish in time,
 * the snapshot is not taken (ECANCELED, ETIMEDOUT). The post-take command runs whenever the
 * pre-take one ran, whatever happened, so what the first froze the second thaws; its failure
 * is reported but does not undo a take that happened.
 */
public interface TakeHooks {
    /**
     * The commands asked for with one snapshot_take; a null field takes the daemon's default.
     *
     * @param preTake        a shell command line, or "" for none
     * @param postTake       a shell command line, or "" for none
     * @param timeoutSeconds how long each may run
     */
    record Commands(String preTake, String postTake, Long timeoutSeconds) {
        public static final Commands DEFAULTS = new Commands(null, null, null);
    }

    /**
     * Runs take between the hooks; returns what each hook that ran did (its name →
     * "ok" or why it failed), for the reply.
     */
    Map<String, String> around(UUID id, List<String> devices, Commands commands, Runnable take) throws IOException;

    /** No hooks; asking for some is refused (only a daemon runs commands). */
    TakeHooks NONE = (id, devices, commands, take) -> {
        if (commands.preTake() != null || commands.postTake() != null) {
            throw new InvalidArgumentException("this control handler runs no take hooks");
        }
        take.run();
        return Map.of();
    };
}
