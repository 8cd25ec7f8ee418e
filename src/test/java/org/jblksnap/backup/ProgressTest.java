package org.jblksnap.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import org.jblksnap.params.Sizes;

class ProgressTest {
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);

    private String text() {
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void linesGiveBytesPercentRateAndTimeLeft() {
        LineProgress p = new LineProgress(out, 0);
        p.start("backup vda", 4L << 20);
        p.advance(1 << 20);
        p.note("a decision");
        p.finish();
        String[] lines = text().split("\n");
        assertEquals(3, lines.length, text());
        assertTrue(lines[0].matches("backup vda 1\\.00 MiB of 4\\.00 MiB \\(25%\\), .*/s, \\d+:\\d\\d left"), lines[0]);
        assertEquals("a decision", lines[1]);
        assertTrue(lines[2].startsWith("backup vda 1.00 MiB of 4.00 MiB (25%)"), lines[2]);
    }

    @Test
    void quietProgressPrintsNotesOnly() {
        Progress p = Progress.quiet(out);
        p.start("restore", 100);
        p.advance(50);
        p.note("only this");
        p.finish();
        assertEquals("only this\n", text());
    }

    @Test
    void aTerminalBarIsRedrawnInPlaceAndNotesGetTheirOwnLine() {
        TerminalProgress p = new TerminalProgress(out);
        p.start("verify", 1000);
        p.show(p.line(System.nanoTime()), false);
        p.advance(500);
        p.note("found something");
        p.finish();
        String t = text();
        assertTrue(t.startsWith("\r\033[K[" + ".".repeat(24) + "] verify 0 B of 1000 B (0%)"), t);
        assertTrue(t.contains("\r\033[Kfound something\n"), t);
        assertTrue(t.endsWith("\n") && t.contains("[" + "#".repeat(12) + ".".repeat(12) + "] verify 500 B of 1000 B (50%)"), t);
    }

    @Test
    void sizesAndDurationsReadWell() {
        assertEquals("512 B", Sizes.bytes(512));
        assertEquals("1.50 KiB", Sizes.bytes(1536));
        assertEquals("64.0 MiB", Sizes.bytes(64L << 20));
        assertEquals("256 GiB", Sizes.bytes(256L << 30));
        assertEquals("0:07", Sizes.duration(7));
        assertEquals("1:02:03", Sizes.duration(3723));
    }
}
