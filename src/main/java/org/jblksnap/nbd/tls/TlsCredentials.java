package org.jblksnap.nbd.tls;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.openssl.PEMException;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.jblksnap.error.InvalidArgumentException;

/**
 * X.509 credentials in the directory layout qemu-nbd, nbdkit and libnbd share: {@code ca-cert.pem}
 * (the authority both peers trust), and {@code server-cert.pem} with {@code server-key.pem} or
 * {@code client-cert.pem} with {@code client-key.pem}. Each side proves itself with its own
 * certificate and checks the peer's against the authority: the server requires a client
 * certificate, the client checks the server's name too. TLS 1.3 only.
 *
 * <p>Everything is checked when loading, so a daemon refuses to start with one line saying
 * which file is missing, unreadable, expired, not yet valid or not the key of its certificate.
 */
public final class TlsCredentials {
    /** Which end of a connection the credentials are for; it names the files. */
    public enum Role {
        SERVER, CLIENT;

        String prefix() {
            return this == SERVER ? "server" : "client";
        }
    }

    private static final String PROTOCOL = "TLSv1.3";
    private static final char[] NO_PASSWORD = new char[0];

    private final Path dir;
    private final Role role;
    private final SSLContext context;

    private TlsCredentials(Path dir, Role role, SSLContext context) {
        this.dir = dir;
        this.role = role;
        this.context = context;
    }

    /** Loads and checks the directory's files for the role; an {@link InvalidArgumentException} says what is wrong. */
    public static TlsCredentials load(Path dir, Role role) {
        if (!Files.isDirectory(dir)) {
            throw new InvalidArgumentException("TLS certificates directory " + dir + " does not exist");
        }
        List<X509Certificate> cas = certificates(dir.resolve("ca-cert.pem"));
        Path certFile = dir.resolve(role.prefix() + "-cert.pem");
        Path keyFile = dir.resolve(role.prefix() + "-key.pem");
        List<X509Certificate> chain = certificates(certFile);
        PrivateKey key = privateKey(keyFile);
        if (!matches(key, chain.getFirst().getPublicKey())) {
            throw new InvalidArgumentException(keyFile + " is not the private key of " + certFile);
        }
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            for (int i = 0; i < cas.size(); i++) {
                trust.setCertificateEntry("ca" + i, cas.get(i));
            }
            KeyStore own = KeyStore.getInstance("PKCS12");
            own.load(null, null);
            own.setKeyEntry("own", key, NO_PASSWORD, chain.toArray(X509Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(own, NO_PASSWORD);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext context = SSLContext.getInstance(PROTOCOL);
            context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), new SecureRandom());
            return new TlsCredentials(dir, role, context);
        } catch (GeneralSecurityException | IOException e) {
            throw new InvalidArgumentException("TLS certificates in " + dir + " cannot be used: " + e.getMessage());
        }
    }

    /**
     * A new engine for one connection. A client engine names the server it connects to, whose
     * certificate must then carry that name or address.
     */
    public SSLEngine engine(String peerHost, int peerPort) {
        SSLEngine e = role == Role.CLIENT ? context.createSSLEngine(peerHost, peerPort) : context.createSSLEngine();
        e.setUseClientMode(role == Role.CLIENT);
        SSLParameters p = e.getSSLParameters();
        p.setProtocols(new String[] {PROTOCOL});
        if (role == Role.SERVER) {
            p.setNeedClientAuth(true);
        } else {
            p.setEndpointIdentificationAlgorithm("HTTPS");
        }
        e.setSSLParameters(p);
        return e;
    }

    public Path directory() {
        return dir;
    }

    @Override
    public String toString() {
        return "TLS " + role.prefix() + " credentials in " + dir;
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new InvalidArgumentException(file + " is missing");
        } catch (AccessDeniedException e) {
            throw new InvalidArgumentException(file + " is not readable (permission denied)");
        } catch (IOException e) {
            throw new InvalidArgumentException(file + " is not readable: " + e.getMessage());
        }
    }

    /** The certificates of a PEM file, each valid now. */
    private static List<X509Certificate> certificates(Path file) {
        byte[] pem = read(file);
        List<X509Certificate> certs = new ArrayList<>();
        try (InputStream in = new java.io.ByteArrayInputStream(pem)) {
            for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                certs.add((X509Certificate) c);
            }
        } catch (CertificateException | IOException e) {
            throw new InvalidArgumentException(file + " does not hold a PEM certificate: " + e.getMessage());
        }
        if (certs.isEmpty()) {
            throw new InvalidArgumentException(file + " does not hold a PEM certificate");
        }
        for (X509Certificate c : certs) {
            try {
                c.checkValidity();
            } catch (CertificateExpiredException e) {
                throw new InvalidArgumentException(file + ": certificate " + c.getSubjectX500Principal().getName()
                        + " expired on " + c.getNotAfter().toInstant());
            } catch (CertificateNotYetValidException e) {
                throw new InvalidArgumentException(file + ": certificate " + c.getSubjectX500Principal().getName()
                        + " is not valid before " + c.getNotBefore().toInstant());
            }
        }
        return certs;
    }

    /** An unencrypted PEM private key: PKCS#1 or SEC 1 ("RSA/EC PRIVATE KEY") or PKCS#8 ("PRIVATE KEY"). */
    private static PrivateKey privateKey(Path file) {
        byte[] pem = read(file);
        try (Reader r = new java.io.InputStreamReader(new java.io.ByteArrayInputStream(pem), StandardCharsets.US_ASCII);
                PEMParser parser = new PEMParser(r)) {
            JcaPEMKeyConverter convert = new JcaPEMKeyConverter();
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                if (o instanceof PEMKeyPair pair) {
                    return convert.getPrivateKey(pair.getPrivateKeyInfo());
                }
                if (o instanceof PrivateKeyInfo info) {
                    return convert.getPrivateKey(info);
                }
                if (o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
                    throw new InvalidArgumentException(file + " is an encrypted private key; give it without a passphrase");
                }
            }
        } catch (PEMException e) {
            throw new InvalidArgumentException(file + " does not hold a usable PEM private key: " + e.getMessage());
        } catch (IOException e) {
            throw new InvalidArgumentException(file + " does not hold a PEM private key: " + e.getMessage());
        }
        throw new InvalidArgumentException(file + " does not hold a PEM private key");
    }

    /** Whether the key signs what the public key verifies: the key belongs to the certificate. */
    private static boolean matches(PrivateKey key, PublicKey pub) {
        String alg = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "Ed448" -> key.getAlgorithm();
            default -> null;
        };
        if (!key.getAlgorithm().equals(pub.getAlgorithm())) {
            return false;
        }
        if (alg == null) {
            return true; // an algorithm of another kind: the TLS handshake is its check
        }
        try {
            byte[] probe = "jblksnap key check".getBytes(StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance(alg);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(alg);
            v.initVerify(pub);
            v.update(probe);
            return v.verify(sig);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
