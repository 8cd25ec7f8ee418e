package org.jblksnap.daemon;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.cbt.CbtFileStore;
import org.jblksnap.control.ControlHandler;
import org.jblksnap.control.ControlServer;
import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.fuse.FuseExports;
import org.jblksnap.nbd.server.NbdServer;
import org.jblksnap.nbd.tls.TlsCredentials;
import org.jblksnap.params.Params;
import org.jblksnap.snapshot.SnapshotManager;

/**
 * The long-running service: owns the engine and every front end, and the run directory.
 *
 * <p>The run directory's files, the state directory, and the start and stop order are in
 * docs/STATE.md.
 */
public final class Daemon implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Daemon.class.getName());

    private final DaemonConfig config;
    private final Path runDir;
    private final List<AutoCloseable> frontEnds = new ArrayList<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private FileChannel lockFile;
    private FileLock lock;
    private SnapshotManager engine;
    private ControlServer control;
    private Jobs jobs;
    private DaemonExports exports;
    private boolean closed;

    public Daemon(DaemonConfig config) {
        this.config = config;
        this.runDir = config.runDir.toAbsolutePath();
    }

    public Path runDir() {
        return runDir;
    }

    public SnapshotManager engine() {
        return engine;
    }

    /** The NBD server's exports, as the daemon's own backup runs read them. */
    DaemonExports exports() {
        return exports;
    }

    public synchronized void start() throws IOException {
        TlsCredentials tcpTls = DaemonConfig.tcpCredentials(!config.nbdTcp.isEmpty(), config.tlsCertificates, config.tls);
        Params.Corrected params = Params.defaults().with(config.params).corrected();
        params.warnings().forEach(w -> LOG.warning(w));
        ownRunDir(runDir);
        lockFile = FileChannel.open(runDir.resolve("daemon.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        lock = lockFile.tryLock();
        if (lock == null) {
            lockFile.close();
            throw new BlksnapException(Errno.EBUSY, "another jblksnap daemon is running in " + runDir);
        }
        try {
            engine = new SnapshotManager(params.params(), new CbtFileStore(
                    (config.stateDir != null ? config.stateDir : runDir).resolve("cbt")));
            LiveRestores restores = new LiveRestores(engine, config.stateDir != null ? config.stateDir : runDir);
            for (Map.Entry<String, Path> d : config.devices.entrySet()) {
                restores.refuseUnfinished(d.getKey(), d.getValue());
                engine.attach(d.getKey(), d.getValue());
            }
            NbdServer nbd = new NbdServer(engine, false, config.nbdLimits);
            frontEnds.add(nbd);
            nbd.listenUnix(runDir.resolve("nbd.sock"));
            if (config.nbdSocketGroup != null) {
                SocketGroup.grant(runDir, runDir.resolve("nbd.sock"), config.nbdSocketGroup);
            }
            if (!config.nbdTcp.isEmpty() && tcpTls == null) {
                LOG.warning("NBD over TCP without TLS (--tls=off): anyone who reaches " + config.nbdTcp
                        + " can read and write every device");
            }
            for (InetSocketAddress a : config.nbdTcp) {
                nbd.listenTcp(a, tcpTls);
            }
            TakeHookCommands hooks = new TakeHookCommands(config.takeHooks);
            ControlHandler handler = new ControlHandler(engine, hooks);
            FuseExports fuse = null;
            if (config.fuseDir != null) {
                fuse = new FuseExports(engine, Files.createDirectories(config.fuseDir));
                frontEnds.add(fuse);
            }
            new LoopVerbs(engine, fuse).register(handler);
            restores.register(handler);
            frontEnds.add(restores);
            exports = new DaemonExports(runDir.resolve("nbd.sock"), nbd.exports());
            jobs = new Jobs(config.jobs, config.refusedJobs, engine, exports, hooks,
                    (config.stateDir != null ? config.stateDir : runDir).resolve("jobs"), Clock.systemDefaultZone(),
                    LoggedProgress::new);
            jobs.register(handler);
            frontEnds.add(jobs);
            jobs.start();
            if (config.metrics != null) {
                DaemonMetrics metrics = new DaemonMetrics(engine, jobs, config.metrics);
                frontEnds.add(metrics);
                LOG.info("metrics at http://" + config.metrics.getHostString() + ":" + metrics.port() + "/metrics");
            }
            control = new ControlServer(handler, runDir.resolve("control.sock"));
            LOG.info("jblksnap daemon serving in " + runDir);
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Makes the run directory, mode 0700, or accepts an existing one only if it is the
     * daemon's own: a directory owned by this user that nobody else may write to. The mode of
     * an existing directory is never changed, so a mistaken {@code --run-dir /tmp} changes
     * nothing and is refused.
     */
    static void ownRunDir(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir.getParent());
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                // the umask may have taken bits away; the directory is new, so this is ours to set
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
                return;
            } catch (FileAlreadyExistsException e) {
                // made meanwhile by someone else: checked below like any existing one
            }
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new InvalidArgumentException("run directory " + dir + " exists and is not a directory");
        }
        UserPrincipal me = dir.getFileSystem().getUserPrincipalLookupService()
                .lookupPrincipalByName(System.getProperty("user.name"));
        UserPrincipal owner = Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) Files.getAttribute(dir, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if (!owner.equals(me) || (mode & 0022) != 0) {
            throw new InvalidArgumentException(String.format("run directory %s is not the daemon's own (owner %s,"
                    + " mode %o); give --run-dir a directory of its own (it is made with mode 0700)", dir,
                    owner.getName(), mode & 07777));
        }
    }

    /** Blocks until {@link #close()} has run. */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        LOG.info("stopping");
        closeQuietly(control, "control socket");
        for (int i = frontEnds.size() - 1; i >= 0; i--) {
            closeQuietly(frontEnds.get(i), "front end");
        }
        closeQuietly(engine, "engine");
        try {
            if (lock != null) {
                lock.release();
            }
            if (lockFile != null) {
                lockFile.close();
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "releasing the run directory lock failed", e);
        }
        LOG.info("stopped");
        stopped.countDown();
    }

    private static void closeQuietly(AutoCloseable c, String what) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.log(Level.WARNING, "closing the " + what + " failed", e);
        }
    }
}
