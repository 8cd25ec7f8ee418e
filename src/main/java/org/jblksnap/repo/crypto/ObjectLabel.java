package org.jblksnap.repo.crypto;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * What a sealed object is: its type (such as {@code pack-entry}, {@code point}, {@code key})
 * and its name within that type. Sealing authenticates the label with the bytes (it is the
 * GCM associated data), so an object opened under any other label fails: a point file cannot
 * be passed off as another point, nor a pack entry moved to another place.
 */
public record ObjectLabel(String type, String name) {
    private static final Pattern TYPE = Pattern.compile("[a-z][a-z0-9-]{0,31}");

    public ObjectLabel {
        if (!TYPE.matcher(type).matches()) {
            throw new IllegalArgumentException("object type '" + type + "' is not [a-z][a-z0-9-]{0,31}");
        }
        if (name.indexOf(0) >= 0) {
            throw new IllegalArgumentException("object name contains NUL: " + name);
        }
    }

    public static ObjectLabel of(String type, String name) {
        return new ObjectLabel(type, name);
    }

    /** The associated data: type in UTF-8, one zero byte, name in UTF-8 (unambiguous: the type has no zero byte). */
    byte[] associatedData() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(type.getBytes(StandardCharsets.UTF_8));
        b.write(0);
        b.writeBytes(name.getBytes(StandardCharsets.UTF_8));
        return b.toByteArray();
    }

    @Override
    public String toString() {
        return type + " " + name;
    }
}
