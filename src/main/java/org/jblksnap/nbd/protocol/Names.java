package org.jblksnap.nbd.protocol;

/**
 * The names of the protocol's numbers, for messages and logs, on both sides. Commands go by
 * their bare name (READ, as the spec's prose calls them); options, option replies, reply
 * chunk types and information types keep their kind (OPT_GO, REP_ERR_UNKNOWN,
 * REPLY_TYPE_OFFSET_HOLE, INFO_BLOCK_SIZE); errors go by their errno name. A number the
 * protocol does not define is named by its kind and value.
 */
public final class Names {
    private Names() {
    }

    public static String command(int type) {
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

    public static String option(int option) {
        return switch (option) {
            case Nbd.OPT_EXPORT_NAME -> "OPT_EXPORT_NAME";
            case Nbd.OPT_ABORT -> "OPT_ABORT";
            case Nbd.OPT_LIST -> "OPT_LIST";
            case Nbd.OPT_STARTTLS -> "OPT_STARTTLS";
            case Nbd.OPT_INFO -> "OPT_INFO";
            case Nbd.OPT_GO -> "OPT_GO";
            case Nbd.OPT_STRUCTURED_REPLY -> "OPT_STRUCTURED_REPLY";
            case Nbd.OPT_LIST_META_CONTEXT -> "OPT_LIST_META_CONTEXT";
            case Nbd.OPT_SET_META_CONTEXT -> "OPT_SET_META_CONTEXT";
            case Nbd.OPT_EXTENDED_HEADERS -> "OPT_EXTENDED_HEADERS";
            default -> "option " + option;
        };
    }

    /** The name of an option reply type (REP_ACK, REP_ERR_UNSUP, ...). */
    public static String optionReply(int type) {
        return switch (type) {
            case Nbd.REP_ACK -> "REP_ACK";
            case Nbd.REP_SERVER -> "REP_SERVER";
            case Nbd.REP_INFO -> "REP_INFO";
            case Nbd.REP_META_CONTEXT -> "REP_META_CONTEXT";
            case Nbd.REP_ERR_UNSUP -> "REP_ERR_UNSUP";
            case Nbd.REP_ERR_POLICY -> "REP_ERR_POLICY";
            case Nbd.REP_ERR_INVALID -> "REP_ERR_INVALID";
            case Nbd.REP_ERR_PLATFORM -> "REP_ERR_PLATFORM";
            case Nbd.REP_ERR_TLS_REQD -> "REP_ERR_TLS_REQD";
            case Nbd.REP_ERR_UNKNOWN -> "REP_ERR_UNKNOWN";
            case Nbd.REP_ERR_SHUTDOWN -> "REP_ERR_SHUTDOWN";
            case Nbd.REP_ERR_BLOCK_SIZE_REQD -> "REP_ERR_BLOCK_SIZE_REQD";
            case Nbd.REP_ERR_TOO_BIG -> "REP_ERR_TOO_BIG";
            default -> "option reply 0x" + Integer.toHexString(type);
        };
    }

    /** Why a server refused an option, in words, from the error type of its reply. */
    public static String refusal(int type) {
        return switch (type) {
            case Nbd.REP_ERR_UNSUP -> "not supported";
            case Nbd.REP_ERR_POLICY -> "refused by policy";
            case Nbd.REP_ERR_INVALID -> "invalid request";
            case Nbd.REP_ERR_PLATFORM -> "not supported on the server's platform";
            case Nbd.REP_ERR_TLS_REQD -> "TLS required";
            case Nbd.REP_ERR_UNKNOWN -> "no such export";
            case Nbd.REP_ERR_SHUTDOWN -> "the server is shutting down";
            case Nbd.REP_ERR_BLOCK_SIZE_REQD -> "block size constraints required";
            case Nbd.REP_ERR_TOO_BIG -> "request too big";
            default -> "error " + Integer.toHexString(type);
        };
    }

    /** The name of a structured reply chunk type. */
    public static String replyType(int type) {
        return switch (type) {
            case Nbd.REPLY_TYPE_NONE -> "REPLY_TYPE_NONE";
            case Nbd.REPLY_TYPE_OFFSET_DATA -> "REPLY_TYPE_OFFSET_DATA";
            case Nbd.REPLY_TYPE_OFFSET_HOLE -> "REPLY_TYPE_OFFSET_HOLE";
            case Nbd.REPLY_TYPE_BLOCK_STATUS -> "REPLY_TYPE_BLOCK_STATUS";
            case Nbd.REPLY_TYPE_ERROR -> "REPLY_TYPE_ERROR";
            case Nbd.REPLY_TYPE_ERROR_OFFSET -> "REPLY_TYPE_ERROR_OFFSET";
            default -> "chunk type " + type;
        };
    }

    /** The name of an information type of OPT_INFO and OPT_GO. */
    public static String info(int info) {
        return switch (info) {
            case Nbd.INFO_EXPORT -> "INFO_EXPORT";
            case Nbd.INFO_NAME -> "INFO_NAME";
            case Nbd.INFO_DESCRIPTION -> "INFO_DESCRIPTION";
            case Nbd.INFO_BLOCK_SIZE -> "INFO_BLOCK_SIZE";
            default -> "information " + info;
        };
    }

    /** The errno name of an error in a reply (the spec defines these few). */
    public static String errno(int errno) {
        return switch (errno) {
            case Nbd.EPERM -> "EPERM";
            case Nbd.EIO -> "EIO";
            case Nbd.ENOMEM -> "ENOMEM";
            case Nbd.EINVAL -> "EINVAL";
            case Nbd.ENOSPC -> "ENOSPC";
            case Nbd.EOVERFLOW -> "EOVERFLOW";
            case Nbd.ENOTSUP -> "ENOTSUP";
            case Nbd.ESHUTDOWN -> "ESHUTDOWN";
            default -> "error " + errno;
        };
    }
}
