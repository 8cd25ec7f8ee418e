package org.jblksnap.repo.crypto;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * A repository's key slots in a {@link KeyStore}: each wraps the one master key under one
 * passphrase or key file. Unlocking tries every slot of the credential's kind; adding and
 * removing slots rotates passphrases without touching any data.
 *
 * <p>Removing never leaves a repository without a key, even when two hosts remove at once:
 * a remover refuses the last slot and the slot it unlocked with, deletes, then checks that
 * its own slot still exists and, if another remover took it meanwhile, puts the deleted slot
 * back. Of two crossing removals at least one sees the other's deletion and restores.
 */
public final class KeyRing {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .enable(SerializationFeature.INDENT_OUTPUT);
    private static final int ID_BYTES = 8;

    private final KeyStore store;
    private final Kdf passphraseKdf;
    private final SecureRandom random;

    public KeyRing(KeyStore store) {
        this(store, Kdf.DEFAULT_PASSPHRASE, new SecureRandom());
    }

    /** A ring whose new passphrase slots use passphraseKdf (tests use cheap parameters). */
    public KeyRing(KeyStore store, Kdf passphraseKdf, SecureRandom random) {
        passphraseKdf.check();
        this.store = store;
        this.passphraseKdf = passphraseKdf;
        this.random = random;
    }

    /** A key slot unlocked: the master key and the slot's id. */
    public record Unlocked(MasterKey key, String id) {
    }

    /** A key slot as key list shows it. */
    public record Info(String id, String kind, String kdf, String created, String host) {
    }

    /** A new random master key for a new repository. */
    public MasterKey newMasterKey() {
        return MasterKey.generate(random);
    }

    /** Stores the master key wrapped under credential; returns the new slot's id. */
    public String add(MasterKey key, Credential credential) throws IOException {
        Kdf kdf = credential.kind() == Credential.Kind.PASSPHRASE ? passphraseKdf : Kdf.KEY_FILE;
        byte[] salt = new byte[KeySlot.SALT_BYTES];
        random.nextBytes(salt);
        Sealer wrap = new Sealer(kdf.derive(credential.secret(), salt), random);
        byte[] sealed = wrap.seal(label(kdf), key.encoded());
        KeySlot slot = KeySlot.of(credential.kind(), kdf, salt, sealed, Instant.now(), host());
        byte[] json = MAPPER.writeValueAsBytes(slot);
        while (true) {
            String id = HexFormat.of().formatHex(randomBytes(ID_BYTES));
            try {
                store.create(id, json);
                return id;
            } catch (FileAlreadyExistsException e) {
                // 64 random bits collided: draw again
            }
        }
    }

    /** The master key, from the first slot of the credential's kind that it opens. */
    public Unlocked unlock(Credential credential) throws IOException {
        List<String> names = store.names();
        if (names.isEmpty()) {
            throw new KeyException(store.location() + " holds no keys: the repository is not encrypted, or its keys "
                    + "are lost");
        }
        int tried = 0;
        List<String> damaged = new ArrayList<>();
        for (String id : names) {
            KeySlot slot;
            try {
                slot = read(id);
            } catch (KeyException e) {
                damaged.add(e.getMessage());
                continue;
            } catch (NoSuchFileException e) {
                continue; // removed meanwhile
            }
            if (slot.credentialKind() != credential.kind()) {
                continue;
            }
            tried++;
            Sealer wrap = new Sealer(slot.kdf().derive(credential.secret(), slot.saltBytes()), random);
            try {
                return new Unlocked(MasterKey.decode(wrap.open(label(slot.kdf()), slot.sealed()), random), id);
            } catch (AuthenticationFailedException e) {
                // not this slot's credential
            }
        }
        String also = damaged.isEmpty() ? "" : " (" + damaged.size() + " damaged key skipped: " + damaged.getFirst() + ")";
        if (tried == 0) {
            String other = credential.kind() == Credential.Kind.PASSPHRASE ? "a key file" : "a password file";
            throw new KeyException("no " + credential.kind().json() + " key in " + store.location()
                    + ": unlock this repository with " + other + also);
        }
        if (credential.kind() == Credential.Kind.PASSPHRASE) {
            throw new KeyException("wrong password: the password from " + credential.source() + " opens none of the "
                    + tried + " passphrase keys in " + store.location() + also);
        }
        throw new KeyException("key file " + credential.source() + " opens none of the " + tried + " key-file keys in "
                + store.location() + ": it belongs to another repository, or it was changed" + also);
    }

    /** Removes slot id; refuses the last slot and the slot unlocked with (see the class comment). */
    public void remove(String id, Unlocked by) throws IOException {
        if (id.equals(by.id())) {
            throw new KeyException("key " + id + " is the one this command unlocked with: unlock with another key "
                    + "to remove it");
        }
        List<String> names = store.names();
        if (!names.contains(id)) {
            throw new KeyException("no key " + id + " in " + store.location());
        }
        if (names.size() == 1) {
            throw new KeyException("key " + id + " is the last key of the repository: without it the data is lost");
        }
        byte[] removed = store.read(id);
        store.delete(id);
        if (!store.names().contains(by.id())) {
            store.create(id, removed);
            throw new KeyException("key " + by.id() + ", which this command unlocked with, was removed meanwhile by "
                    + "another command; key " + id + " is kept so that a key remains");
        }
    }

    /** Every slot, checked; a damaged one is listed with kind "damaged" and why in kdf. */
    public List<Info> list() throws IOException {
        List<Info> out = new ArrayList<>();
        for (String id : store.names()) {
            try {
                KeySlot s = read(id);
                out.add(new Info(id, s.kind(), s.kdf().toString(), s.created(), s.host()));
            } catch (KeyException e) {
                out.add(new Info(id, "damaged", e.getMessage(), null, null));
            } catch (NoSuchFileException e) {
                // removed meanwhile
            }
        }
        return out;
    }

    private KeySlot read(String id) throws IOException {
        KeySlot s;
        try {
            s = MAPPER.readValue(store.read(id), KeySlot.class);
            s.check();
        } catch (JsonProcessingException e) {
            throw new KeyException("key " + id + " in " + store.location() + " is not valid JSON: "
                    + e.getOriginalMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new KeyException("key " + id + " in " + store.location() + " is not valid: " + e.getMessage(), e);
        }
        return s;
    }

    private static ObjectLabel label(Kdf kdf) {
        return ObjectLabel.of("key", kdf.toString());
    }

    private byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
