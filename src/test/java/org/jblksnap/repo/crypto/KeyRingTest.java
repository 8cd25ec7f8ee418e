package org.jblksnap.repo.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;

import org.jblksnap.repo.DirectoryStore;
import org.jblksnap.repo.StoreKeys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Key slots: wrap, unlock, rotate, and the errors of a wrong password, a foreign key file and damage. */
class KeyRingTest {
    /** Cheap Argon2id so that the tests stay fast; the default's cost is measured in BENCHMARKS.md. */
    private static final Kdf CHEAP = Kdf.argon2id(64, 1, 1);
    private static final ObjectLabel LABEL = ObjectLabel.of("point", "1");

    @TempDir
    Path dir;
    final SecureRandom random = new SecureRandom();

    private KeyRing ring(Path repo) {
        return new KeyRing(new StoreKeys(new DirectoryStore(repo)), CHEAP, random);
    }

    private Credential password(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return Credential.passwordFile(f);
    }

    /** The same master key: what one seals the other opens. */
    private static void assertSameKey(MasterKey a, MasterKey b) throws IOException {
        assertArrayEquals(a.chunkIds().id(new byte[] {1, 2, 3}), b.chunkIds().id(new byte[] {1, 2, 3}));
        assertArrayEquals(new byte[] {9}, b.sealer().open(LABEL, a.sealer().seal(LABEL, new byte[] {9})));
    }

    @Test
    void aPassphraseUnlocksTheMasterKeyItWrapped() throws Exception {
        KeyRing ring = ring(dir.resolve("repo"));
        MasterKey key = ring.newMasterKey();
        String id = ring.add(key, password("pw", "correct horse\n"));
        KeyRing.Unlocked u = ring.unlock(password("pw2", "correct horse"));
        assertEquals(id, u.id());
        assertSameKey(key, u.key());
        assertTrue(Files.exists(dir.resolve("repo/keys/" + id + ".json")));
    }

    /**
     * A process that unlocks the same repository again with the same password (a daemon's
     * runs) derives the passphrase key once; another password, or another slot's salt, is
     * derived anew, and a wrong password stays wrong.
     */
    @Test
    void aSecondUnlockWithTheSamePasswordDoesNotDeriveAgain() throws Exception {
        KeyRing ring = ring(dir.resolve("repo"));
        MasterKey key = ring.newMasterKey();
        long before = PassphraseKeys.derivations();
        ring.add(key, password("pw", "daemon's password"));
        assertSameKey(key, ring.unlock(password("pw", "daemon's password")).key());
        assertSameKey(key, ring.unlock(password("pw", "daemon's password")).key());
        assertSameKey(key, ring(dir.resolve("repo")).unlock(password("pw", "daemon's password")).key());
        assertEquals(before + 1, PassphraseKeys.derivations(), "derived once (to wrap) for three unlocks");
        assertThrows(KeyException.class, () -> ring.unlock(password("pw", "another password")));
        assertThrows(KeyException.class, () -> ring.unlock(password("pw", "another password")));
        assertEquals(before + 2, PassphraseKeys.derivations(), "the wrong one derived once too, and refused twice");
        ring.add(key, password("pw2", "daemon's password")); // a second slot: its own salt
        assertSameKey(key, ring.unlock(password("pw", "daemon's password")).key());
        assertSameKey(key, ring.unlock(password("pw", "daemon's password")).key());
        assertTrue(PassphraseKeys.derivations() <= before + 4, "at most one derivation per slot and password");
    }

    @Test
    void theKeySlotIsTheDocumentedJson() throws Exception {
        KeyRing ring = ring(dir.resolve("repo"));
        String id = ring.add(ring.newMasterKey(), password("pw", "secret"));
        JsonNode j = new ObjectMapper().readTree(dir.resolve("repo/keys/" + id + ".json").toFile());
        assertEquals("jblksnap-key", j.get("format").asText());
        assertEquals(1, j.get("version").asInt());
        assertEquals("passphrase", j.get("kind").asText());
        assertEquals("argon2id", j.get("kdf").get("name").asText());
        assertEquals(64, j.get("kdf").get("memory_kib").asInt());
        assertEquals(32, j.get("salt").binaryValue().length);
        assertEquals(12, j.get("nonce").binaryValue().length);
        assertEquals(64, j.get("ciphertext").binaryValue().length);
        assertEquals(16, j.get("tag").binaryValue().length);
        assertFalse(j.toString().contains("secret"));
    }

    @Test
    void aWrongPasswordIsAClearError() throws Exception {
        KeyRing ring = ring(dir.resolve("repo"));
        ring.add(ring.newMasterKey(), password("pw", "right"));
        KeyException e = assertThrows(KeyException.class, () -> ring.unlock(password("bad", "wrong")));
        assertTrue(e.getMessage().startsWith("wrong password: the password from " + dir.resolve("bad")), e.getMessage());
    }

    @Test
    void aMissingOrEmptyPasswordFileIsAClearError() throws Exception {
        KeyException missing = assertThrows(KeyException.class, () -> Credential.passwordFile(dir.resolve("nope")));
        assertEquals("password file " + dir.resolve("nope") + " does not exist", missing.getMessage());
        for (String empty : new String[] {"", "\n", "\r\n"}) {
            KeyException e = assertThrows(KeyException.class, () -> password("empty", empty));
            assertEquals("password file " + dir.resolve("empty") + " is empty", e.getMessage());
        }
    }

    @Test
    void aKeyFileUnlocksAndAnotherRepositorysKeyFileIsRefused() throws Exception {
        KeyRing a = ring(dir.resolve("a"));
        MasterKey ka = a.newMasterKey();
        Credential fa = Credential.newKeyFile(dir.resolve("a.key"), random);
        a.add(ka, fa);
        KeyRing b = ring(dir.resolve("b"));
        b.add(b.newMasterKey(), Credential.newKeyFile(dir.resolve("b.key"), random));

        assertSameKey(ka, a.unlock(Credential.keyFile(dir.resolve("a.key"))).key());
        KeyException e = assertThrows(KeyException.class, () -> a.unlock(Credential.keyFile(dir.resolve("b.key"))));
        assertTrue(e.getMessage().contains("belongs to another repository"), e.getMessage());
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve("a.key"))));
        assertThrows(KeyException.class, () -> Credential.newKeyFile(dir.resolve("a.key"), random));
    }

    @Test
    void aKeyFileCannotUnlockAPassphraseOnlyRepository() throws Exception {
        KeyRing ring = ring(dir.resolve("repo"));
        ring.add(ring.newMasterKey(), password("pw", "x"));
        KeyException e = assertThrows(KeyException.class,
                () -> ring.unlock(Credential.newKeyFile(dir.resolve("k"), random)));
        assertTrue(e.getMessage().startsWith("no key-file key in "), e.getMessage());
    }

    @Test
    void shortKeyFilesAreRefused() throws Exception {
        Files.writeString(dir.resolve("short"), "0123456789\n");
        KeyException e = assertThrows(KeyException.class, () -> Credential.keyFile(dir.resolve("short")));
        assertTrue(e.getMessage().contains("holds 10 bytes"), e.getMessage());
    }

    @Test
    void rotatingPassphrasesKeepsTheMasterKeyAndRefusesRemovingTheLastKey() throws Exception {
        KeyRing ring = ring(dir.resolve("repo"));
        MasterKey key = ring.newMasterKey();
        Credential oldPw = password("old", "old");
        String oldId = ring.add(key, oldPw);
        KeyRing.Unlocked byOld = ring.unlock(oldPw);
        Credential newPw = password("new", "new");
        String newId = ring.add(byOld.key(), newPw);
        assertEquals(2, ring.list().size());

        KeyException self = assertThrows(KeyException.class, () -> ring.remove(oldId, byOld));
        assertTrue(self.getMessage().contains("unlock with another key"), self.getMessage());
        KeyRing.Unlocked byNew = ring.unlock(newPw);
        ring.remove(oldId, byNew);
        assertEquals(List.of(newId), ring.list().stream().map(KeyRing.Info::id).toList());
        assertThrows(KeyException.class, () -> ring.unlock(oldPw));
        assertSameKey(key, ring.unlock(newPw).key());
        assertThrows(KeyException.class, () -> ring.remove("0123456789abcdef", byNew));
    }

    @Test
    void theLastKeyIsNeverRemoved() throws Exception {
        KeyRing ring = ring(dir.resolve("repo"));
        MasterKey key = ring.newMasterKey();
        String id = ring.add(key, password("pw", "pw"));
        KeyException e = assertThrows(KeyException.class, () -> ring.remove(id, new KeyRing.Unlocked(key, "other")));
        assertTrue(e.getMessage().contains("last key"), e.getMessage());
        assertEquals(1, ring.list().size());
    }

    /** Two removals that cross (each removing the key the other unlocked with) leave a key. */
    @Test
    void crossingRemovalsLeaveAKey() throws Exception {
        Path repo = dir.resolve("repo");
        KeyRing ring = ring(repo);
        MasterKey key = ring.newMasterKey();
        Credential p1 = password("p1", "one");
        Credential p2 = password("p2", "two");
        String id1 = ring.add(key, p1);
        String id2 = ring.add(key, p2);
        KeyRing.Unlocked by1 = ring.unlock(p1);
        KeyRing.Unlocked by2 = ring.unlock(p2);
        StoreKeys real = new StoreKeys(new DirectoryStore(repo));
        // The other host's removal runs whole after this one's checks passed and before its delete.
        KeyStore racing = new KeyStore() {
            boolean raced;

            @Override
            public String location() {
                return real.location();
            }

            @Override
            public List<String> names() throws IOException {
                return real.names();
            }

            @Override
            public byte[] read(String name) throws IOException {
                if (!raced) {
                    raced = true;
                    new KeyRing(real, CHEAP, random).remove(id1, by2);
                }
                return real.read(name);
            }

            @Override
            public void create(String name, byte[] content) throws IOException {
                real.create(name, content);
            }

            @Override
            public void delete(String name) throws IOException {
                real.delete(name);
            }
        };
        KeyException e = assertThrows(KeyException.class, () -> new KeyRing(racing, CHEAP, random).remove(id2, by1));
        assertTrue(e.getMessage().contains("was removed meanwhile"), e.getMessage());
        assertEquals(List.of(id2), ring.list().stream().map(KeyRing.Info::id).toList());
        assertSameKey(key, ring.unlock(p2).key());
    }

    @Test
    void damagedOrTamperedSlotsAreNamed() throws Exception {
        Path repo = dir.resolve("repo");
        KeyRing ring = ring(repo);
        Credential pw = password("pw", "pw");
        String id = ring.add(ring.newMasterKey(), pw);
        Path slot = repo.resolve("keys/" + id + ".json");
        String json = Files.readString(slot);

        Files.writeString(slot, json.replace("\"iterations\" : 1", "\"iterations\" : 2"));
        KeyException weaker = assertThrows(KeyException.class, () -> ring.unlock(pw));
        assertTrue(weaker.getMessage().startsWith("wrong password"), weaker.getMessage());

        Files.writeString(slot, json.replace("\"memory_kib\" : 64", "\"memory_kib\" : 999999999"));
        KeyException huge = assertThrows(KeyException.class, () -> ring.unlock(pw));
        assertTrue(huge.getMessage().contains("key " + id + " in " + repo.resolve("keys") + " is not valid: argon2id memory"),
                huge.getMessage());
        assertEquals("damaged", ring.list().getFirst().kind());

        Files.write(slot, "{".getBytes(StandardCharsets.UTF_8));
        assertTrue(assertThrows(KeyException.class, () -> ring.unlock(pw)).getMessage().contains("not valid JSON"));
    }

    @Test
    void aRepositoryWithoutKeysSaysSo() throws Exception {
        KeyException e = assertThrows(KeyException.class, () -> ring(dir.resolve("none")).unlock(password("pw", "x")));
        assertTrue(e.getMessage().contains("holds no keys"), e.getMessage());
    }
}
