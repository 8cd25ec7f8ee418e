package org.jblksnap.daemon;

import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.logging.Logger;

import org.jblksnap.control.TakeHooks;
import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.Errno;
import org.jblksnap.fuse.SystemTools;

/**
 * The take hooks as shell commands ({@code /bin/sh -c}), run by the daemon with the snapshot's
 * id and devices in their environment: the config's commands, or those given with one
 * snapshot_take. The protocol is {@link TakeHooks}'; each command may run for the timeout, then
 * it and its children are killed.
 *
 * <p>Environment: {@code JBLKSNAP_HOOK} (pre_take or post_take), {@code JBLKSNAP_SNAPSHOT_ID},
 * {@code JBLKSNAP_DEVICES} (the device names, space-separated), and for the post-take command
 * {@code JBLKSNAP_TAKE_RESULT}: {@code ok}, or the errno and message of the failure.
 */
final class TakeHookCommands implements TakeHooks {
    private static final Logger LOG = Logger.getLogger(TakeHookCommands.class.getName());
    static final long DEFAULT_TIMEOUT_SECONDS = 60;

    private final Commands defaults;

    TakeHookCommands(Commands defaults) {
        this.defaults = defaults;
    }

    @Override
    public Map<String, String> around(UUID id, List<String> devices, Commands asked, Runnable take) throws IOException {
        String pre = asked.preTake() != null ? asked.preTake() : defaults.preTake();
        String post = asked.postTake() != null ? asked.postTake() : defaults.postTake();
        long seconds = asked.timeoutSeconds() != null ? asked.timeoutSeconds()
                : defaults.timeoutSeconds() != null ? defaults.timeoutSeconds() : DEFAULT_TIMEOUT_SECONDS;
        Duration timeout = Duration.ofSeconds(seconds);
        Map<String, String> env = new LinkedHashMap<>();
        env.put("JBLKSNAP_SNAPSHOT_ID", id.toString());
        env.put("JBLKSNAP_DEVICES", String.join(" ", devices));
        Map<String, String> done = new LinkedHashMap<>();
        BlksnapException failure = null;
        if (present(pre)) {
            String outcome = run("pre_take", pre, env, timeout);
            done.put("pre_take", outcome);
            if (!outcome.equals("ok")) {
                failure = new BlksnapException(outcome.startsWith("timed out") ? Errno.ETIMEDOUT : Errno.ECANCELED,
                        "the pre-take command " + outcome + "; snapshot " + id + " was not taken");
            }
        }
        if (failure == null) {
            try {
                take.run();
            } catch (BlksnapException e) {
                failure = e;
            }
        }
        if (present(post)) {
            env.put("JBLKSNAP_TAKE_RESULT", failure == null ? "ok" : Errno.of(failure) + ": " + failure.getMessage());
            String outcome = run("post_take", post, env, timeout);
            done.put("post_take", outcome);
            if (failure != null && !outcome.equals("ok")) {
                failure.addSuppressed(new IOException("the post-take command " + outcome));
            }
        }
        if (failure != null) {
            throw failure;
        }
        return done;
    }

    private static boolean present(String command) {
        return command != null && !command.isBlank();
    }

    /** "ok", or what went wrong in one line. */
    private static String run(String hook, String command, Map<String, String> env, Duration timeout) {
        Map<String, String> e = new LinkedHashMap<>(env);
        e.put("JBLKSNAP_HOOK", hook);
        String outcome;
        try {
            SystemTools.Result r = SystemTools.run(timeout, e, "/bin/sh", "-c", command);
            outcome = r.ok() ? "ok" : "failed: " + r.describe().replace('\n', ' ');
        } catch (SystemTools.TimedOutException x) {
            outcome = "timed out: " + x.getMessage();
        } catch (IOException x) {
            outcome = "failed: " + x.getMessage();
        }
        String o = outcome;
        if (o.equals("ok")) {
            LOG.info(() -> hook + " command ran: " + command);
        } else {
            LOG.warning(() -> hook + " command " + o);
        }
        return outcome;
    }
}
