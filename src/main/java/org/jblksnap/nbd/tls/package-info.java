/**
 * NBD over TLS, for both sides: {@link org.jblksnap.nbd.tls.TlsCredentials} (X.509 files in
 * the layout qemu-nbd, nbdkit and libnbd share, checked when loaded; TLS 1.3; each side shows
 * its certificate and checks the peer's against ca-cert.pem) and
 * {@link org.jblksnap.nbd.tls.NbdChannel} (a connection's byte stream, plain until STARTTLS,
 * TLS over the same blocking socket after).
 *
 * <h2>Why STARTTLS and not TLS from the first byte</h2>
 * NBD negotiates TLS inside its handshake (NBD_OPT_STARTTLS): the server greets in the clear,
 * the client asks for TLS as its first option, and only after the server's ACK do both run the
 * TLS handshake on the socket. The server runs the protocol's FORCEDTLS mode on a TCP listener
 * with credentials: every other option before it is refused with ERR_TLS_REQD, so nothing (not
 * even the export list) is told to a peer that has not shown a certificate of the CA. Unix
 * sockets stay plain; their access is the file system's.
 *
 * <h2>Interoperability</h2>
 * JSSE's TLS 1.3 server asks for client signatures with RSA-PSS or ECDSA only (as the RFC
 * says); gnutls clients (qemu, libnbd 1.14 on Debian 12) then offer no RSA client certificate,
 * so their client keys should be ECDSA ({@code certtool --generate-privkey --key-type=ecdsa}).
 * Server and CA keys may be either.
 */
package org.jblksnap.nbd.tls;
