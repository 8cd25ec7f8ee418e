package org.jblksnap.nbd.server;

import java.nio.ByteBuffer;

import org.jblksnap.nbd.protocol.Names;

/**
 * One transmission request as read from the wire; payload is the data of a WRITE (pooled),
 * cost its share of the connection's buffer budget.
 */
record Request(int flags, int type, long cookie, long offset, long length, ByteBuffer payload, int cost) {
    String describe() {
        return Names.command(type) + " offset " + Long.toUnsignedString(offset) + " length " + length + " flags 0x"
                + Integer.toHexString(flags);
    }
}
