package org.jblksnap.cli;

import java.util.Locale;

import org.jblksnap.error.InvalidArgumentException;

/** Sizes as users write them: 1073741824, 512K, 100M, 1G, 2T (powers of 1024). */
final class Sizes {
    private Sizes() {
    }

    static long parse(String what, String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        if (t.endsWith("IB")) {
            t = t.substring(0, t.length() - 2);
        } else if (t.endsWith("B")) {
            t = t.substring(0, t.length() - 1);
        }
        int shift = 0;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                default -> shift = 0;
            }
        }
        String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
        if (digits.isEmpty() || !digits.chars().allMatch(Character::isDigit)) {
            throw new InvalidArgumentException("bad " + what + " '" + s + "': use a number of bytes with an optional K, M, G or T suffix");
        }
        try {
            long v = Long.parseLong(digits);
            if (v > (Long.MAX_VALUE >> shift)) {
                throw new NumberFormatException();
            }
            return v << shift;
        } catch (NumberFormatException e) {
            throw new InvalidArgumentException("bad " + what + " '" + s + "': too large");
        }
    }
}
