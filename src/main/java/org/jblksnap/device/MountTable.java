package org.jblksnap.device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The mounts of this process's namespace (/proc/self/mountinfo). */
public final class MountTable {
    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    /** One mount: the device number its file system reports (st_dev), where, what and from what. */
    public record Mount(DevNumber device, Path mountPoint, String type, String source) {
    }

    private MountTable() {
    }

    /** Every mount, in mount order. */
    public static List<Mount> mounts() throws IOException {
        List<Mount> all = new ArrayList<>();
        for (String line : Files.readAllLines(MOUNTINFO)) {
            // id parent major:minor root mountpoint options [optional fields] - fstype source superoptions
            String[] f = line.split(" ");
            int dash = line.indexOf(" - ");
            if (f.length < 5 || dash < 0) {
                continue;
            }
            String[] tail = line.substring(dash + 3).split(" ");
            all.add(new Mount(DevNumber.parse(f[2]), Path.of(unescape(f[4])), tail[0],
                    tail.length > 1 ? unescape(tail[1]) : ""));
        }
        return all;
    }

    /** The file system type mounted at exactly dir (the last mount wins), if any. */
    public static Optional<String> typeAt(Path dir) throws IOException {
        Path want = dir.toAbsolutePath().normalize();
        String type = null;
        for (Mount m : mounts()) {
            if (m.mountPoint().equals(want)) {
                type = m.type();
            }
        }
        return Optional.ofNullable(type);
    }

    /** mountinfo writes space, tab, newline and backslash as \ooo octal escapes. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && isOctal(s, i + 1) && isOctal(s, i + 2) && isOctal(s, i + 3)) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean isOctal(String s, int i) {
        return i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '7';
    }
}
