package org.jblksnap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * init and key add/remove/list through the real command: encrypted by default, passwords from
 * --password-file or JBLKSNAP_PASSWORD_FILE, key files, and every refusal a one-line error
 * with a non-zero exit that writes nothing.
 */
@Timeout(600)
class KeyCliTest {
    @TempDir
    Path dir;

    private ChildProcess jblksnap(String... args) {
        return ChildProcess.java(Main.class, args);
    }

    private ChildProcess.Result ok(String... args) throws IOException {
        ChildProcess.Result r = jblksnap(args).run();
        assertEquals(0, r.exit(), "jblksnap " + String.join(" ", args) + ": " + r.err());
        return r;
    }

    /** Runs a command that must fail with one line on stderr containing message and change nothing under dir. */
    private ChildProcess.Result refused(String message, ChildProcess p) throws IOException {
        Map<String, String> before = tree();
        ChildProcess.Result r = p.run();
        assertNotEquals(0, r.exit(), r.out());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("jblksnap: ") && r.err().contains(message), r.err());
        assertEquals(before, tree(), "nothing written");
        return r;
    }

    private Map<String, String> tree() throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                m.put(dir.relativize(p).toString(), Files.isRegularFile(p) ? Files.readString(p, java.nio.charset.StandardCharsets.ISO_8859_1) : "dir");
            }
        }
        return m;
    }

    private String file(String name, String content) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        return f.toString();
    }

    @Test
    void initIsEncryptedByDefaultAndKeysRotateWithoutTouchingData() throws Exception {
        String repo = dir.resolve("repo").toString();
        String pw1 = file("pw1", "first password\n");
        String pw2 = file("pw2", "second password\n");
        ChildProcess.Result init = ok("init", "--repo", repo, "--password-file", pw1);
        assertEquals("aes-256-gcm", init.get("encryption"));
        String id1 = init.get("key");
        assertTrue(Files.isRegularFile(dir.resolve("repo/keys/" + id1 + ".json")));
        assertTrue(init.err().contains("keep the password from " + pw1 + " safe"), init.err());

        String id2 = ok("key", "add", "--repo", repo, "--password-file", pw1, "--new-password-file", pw2).get("key");
        String listed = ok("key", "list", "--repo", repo).out();
        assertTrue(listed.contains("id=" + id1) && listed.contains("id=" + id2) && listed.contains("kind=passphrase"), listed);
        String config = Files.readString(dir.resolve("repo/repository.json"));

        refused("is the one this command unlocked with", jblksnap("key", "remove", "--repo", repo, "--password-file", pw1, id1));
        assertEquals("removed=" + id1, ok("key", "remove", "--repo", repo, "--password-file", pw2, id1).out().strip());
        refused("wrong password", jblksnap("key", "add", "--repo", repo, "--password-file", pw1, "--new-password-file", pw1));
        refused("is the one this command unlocked with", jblksnap("key", "remove", "--repo", repo, "--password-file", pw2, id2));
        assertEquals(config, Files.readString(dir.resolve("repo/repository.json")));
    }

    /** Backups are not sealed yet: an encrypted repository is refused rather than filled with plain data. */
    @Test
    void anEncryptedRepositoryOpensOnlyWithItsPassword() throws Exception {
        String repo = dir.resolve("repo").toString();
        String pw = file("pw", "pw");
        ok("init", "--repo", repo, "--password-file", pw);
        refused("is encrypted: give --password-file FILE", jblksnap("points", "--repo", repo));
        refused("is encrypted: give --password-file FILE", jblksnap("verify", "--repo", repo));
        refused("is encrypted: give --password-file FILE", jblksnap("prune", "--repo", repo, "--keep", "1"));
        refused("wrong password", jblksnap("prune", "--repo", repo, "--keep", "1", "--password-file",
                file("other", "other")));
        ok("points", "--repo", repo, "--password-file", pw);
        ChildProcess.Result verified = jblksnap("verify", "--repo", repo).env(KeyOptions.PASSWORD_FILE_ENV, pw).run();
        assertEquals(0, verified.exit(), verified.err());
    }

    @Test
    void thePasswordFileCanComeFromTheEnvironmentAndKeyFilesUnlockToo() throws Exception {
        String repo = dir.resolve("repo").toString();
        String pw = file("pw", "from the environment");
        String id1 = jblksnap("init", "--repo", repo).env(KeyOptions.PASSWORD_FILE_ENV, pw).run().get("key");
        Path keyFile = dir.resolve("repo.key");
        ChildProcess.Result add = jblksnap("key", "add", "--repo", repo, "--new-key-file", keyFile.toString())
                .env(KeyOptions.PASSWORD_FILE_ENV, pw).run();
        assertEquals(keyFile.toString(), add.get("key_file_created"), add.err());
        assertEquals("key-file", add.get("kind"));
        // --key-file wins over the environment's password file.
        ok("key", "remove", "--repo", repo, "--key-file", keyFile.toString(), id1);
        String listed = ok("key", "list", "--repo", repo).out();
        assertTrue(listed.contains("kind=key-file") && !listed.contains(id1), listed);
    }

    @Test
    void aKeyFileInitMakesTheKeyFileAndAnotherRepositorysKeyFileIsRefused() throws Exception {
        Path keyA = dir.resolve("a.key");
        ChildProcess.Result a = ok("init", "--repo", dir.resolve("a").toString(), "--key-file", keyA.toString());
        assertEquals(keyA.toString(), a.get("key_file_created"));
        ok("init", "--repo", dir.resolve("b").toString(), "--key-file", dir.resolve("b.key").toString());
        String pw = file("pw", "pw");
        refused("belongs to another repository", jblksnap("key", "add", "--repo", dir.resolve("a").toString(),
                "--key-file", dir.resolve("b.key").toString(), "--new-password-file", pw));
        ok("key", "add", "--repo", dir.resolve("a").toString(), "--key-file", keyA.toString(), "--new-password-file", pw);
    }

    @Test
    void badPasswordInputIsRefusedAndWritesNothing() throws Exception {
        String repo = dir.resolve("repo").toString();
        String empty = file("empty", "\n");
        refused("password file " + dir.resolve("missing") + " does not exist",
                jblksnap("init", "--repo", repo, "--password-file", dir.resolve("missing").toString()));
        refused("password file " + empty + " is empty", jblksnap("init", "--repo", repo, "--password-file", empty));
        refused("password file " + empty + " is empty",
                jblksnap("init", "--repo", repo).env(KeyOptions.PASSWORD_FILE_ENV, empty));
        refused("is encrypted: give --password-file FILE", jblksnap("init", "--repo", repo));
        refused("not both", jblksnap("init", "--repo", repo, "--password-file", empty, "--key-file", empty));
        refused("holds 0 bytes", jblksnap("init", "--repo", repo, "--key-file", empty));
        refused("bad --encryption 'rot13'", jblksnap("init", "--repo", repo, "--encryption", "rot13"));
        refused("--encryption none takes no --password-file", jblksnap("init", "--repo", repo, "--encryption", "none",
                "--password-file", file("pw", "x")));
        Files.createDirectory(dir.resolve("full"));
        Files.writeString(dir.resolve("full/data"), "x");
        refused("it is not empty", jblksnap("init", "--repo", dir.resolve("full").toString(), "--password-file",
                dir.resolve("pw").toString()));
        assertFalse(Files.exists(dir.resolve("repo")));
    }

    @Test
    void anUnencryptedRepositoryHasNoKeys() throws Exception {
        String repo = dir.resolve("plain").toString();
        assertEquals("none", ok("init", "--repo", repo, "--encryption", "none").get("encryption"));
        assertFalse(Files.exists(dir.resolve("plain/keys")));
        refused("is not encrypted", jblksnap("key", "list", "--repo", repo));
        refused("is not a backup repository", jblksnap("key", "list", "--repo", dir.resolve("nothing").toString()));
    }
}
