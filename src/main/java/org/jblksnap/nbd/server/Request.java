package org.jblksnap.nbd.server;

import java.nio.ByteBuffer;

import org.jblksnap.nbd.protocol.Nbd;

/**
 * One transmission request as read from the wire; payload is the data of a WRITE (pooled),
 * cost its share of the connection's buffer budget.
 */
record Request(int flags, int type, long cookie, long offset, long length, ByteBuffer payload, int cost) {
    static final int HEADER = 28;

    String describe() {
        return name(type) + " offset " + Long.toUnsignedString(offset) + " length " + length + " flags 0x"
                + Integer.toHexString(flags);
    }

    static String name(int type) {
        return switch (type) {
            case Nbd.CMD_READ -> "READ";
            case Nbd.CMD_WRITE -> "WRITE";
            case Nbd.CMD_DISC -> "DISC";
            case Nbd.CMD_FLUSH -> "FLUSH";
            case Nbd.CMD_TRIM -> "TRIM";
            case Nbd.CMD_CACHE -> "CACHE";
            case Nbd.CMD_WRITE_ZEROES -> "WRITE_ZEROES";
            case Nbd.CMD_BLOCK_STATUS -> "BLOCK_STATUS";
            default -> "command " + type;
        };
    }
}
