package org.jblksnap.repo.crypto;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;

/**
 * What unlocks a repository: a passphrase (read from a password file) or a key file (a
 * random key of at least 32 bytes). source names the file for messages.
 */
public record Credential(Kind kind, byte[] secret, Path source) {
    /** A key file's shortest content: 256 bits. */
    public static final int MIN_KEY_FILE_BYTES = 32;

    public enum Kind {
        PASSPHRASE("passphrase"), KEY_FILE("key-file");

        private final String json;

        Kind(String json) {
            this.json = json;
        }

        /** The name in a key slot's "kind". */
        public String json() {
            return json;
        }

        static Kind of(String json) {
            for (Kind k : values()) {
                if (k.json.equals(json)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("unknown key kind '" + json + "'");
        }
    }

    /**
     * The passphrase in a file: its bytes without one trailing newline (LF or CRLF), as restic
     * and borg read theirs. A missing, unreadable or empty file is an error.
     */
    public static Credential passwordFile(Path file) throws KeyException {
        byte[] b = read("password file", file);
        int n = b.length;
        if (n > 0 && b[n - 1] == '\n') {
            n--;
            if (n > 0 && b[n - 1] == '\r') {
                n--;
            }
        }
        if (n == 0) {
            throw new KeyException("password file " + file + " is empty");
        }
        return new Credential(Kind.PASSPHRASE, Arrays.copyOf(b, n), file);
    }

    /** The key in a key file: its content, at least 32 bytes, trailing whitespace ignored. */
    public static Credential keyFile(Path file) throws KeyException {
        byte[] b = read("key file", file);
        int n = b.length;
        while (n > 0 && Character.isWhitespace(b[n - 1])) {
            n--;
        }
        if (n < MIN_KEY_FILE_BYTES) {
            throw new KeyException("key file " + file + " holds " + n + " bytes; a key file holds at least "
                    + MIN_KEY_FILE_BYTES + " random bytes (jblksnap init or key add writes one)");
        }
        return new Credential(Kind.KEY_FILE, Arrays.copyOf(b, n), file);
    }

    /**
     * Writes a new key file (256 random bits in Base64, one line, mode 0600) that must not
     * exist yet, and returns it as a credential.
     */
    public static Credential newKeyFile(Path file, SecureRandom random) throws IOException {
        byte[] key = new byte[MIN_KEY_FILE_BYTES];
        random.nextBytes(key);
        byte[] text = (Base64.getEncoder().encodeToString(key) + "\n").getBytes(StandardCharsets.US_ASCII);
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (FileAlreadyExistsException e) {
            throw new KeyException("key file " + file + " exists already: jblksnap writes a new key file only where "
                    + "there is none (to use that one, pass it with --key-file)");
        } catch (IOException e) {
            throw new KeyException("cannot write key file " + file + ": " + reason(e), e);
        }
        Files.write(file, text, StandardOpenOption.WRITE, StandardOpenOption.SYNC);
        return keyFile(file);
    }

    private static byte[] read(String what, Path file) throws KeyException {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new KeyException(what + " " + file + " does not exist");
        } catch (IOException e) {
            throw new KeyException("cannot read " + what + " " + file + ": " + reason(e), e);
        }
    }

    private static String reason(IOException e) {
        return e instanceof java.nio.file.AccessDeniedException ? "permission denied"
                : e.getMessage() == null ? e.toString() : e.getMessage();
    }

    /** How to name this credential in a message. */
    public String describe() {
        return (kind == Kind.PASSPHRASE ? "the password from " : "key file ") + source;
    }

    @Override
    public String toString() {
        return describe(); // never the secret
    }
}
