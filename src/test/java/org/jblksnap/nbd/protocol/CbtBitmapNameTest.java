package org.jblksnap.nbd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class CbtBitmapNameTest {
    private static final String GEN = "0f3c2b1a-5d4e-4f60-8a7b-9c8d7e6f5a4b";

    @Test
    void aBuiltNameParsesBackToItsParts() {
        String name = new CbtBitmapName(GEN, 7).context();
        assertEquals("qemu:dirty-bitmap:cbt-" + GEN + "-7", name);
        assertEquals(new CbtBitmapName(GEN, 7), CbtBitmapName.parse(name));
        assertEquals(new CbtBitmapName("g", 0), CbtBitmapName.parse("qemu:dirty-bitmap:cbt-g-0"));
    }

    @Test
    void onlyTheCanonicalSpellingIsAName() {
        for (String s : new String[] {"qemu:dirty-bitmap:cbt-" + GEN + "-07", "qemu:dirty-bitmap:cbt-" + GEN + "-",
                "qemu:dirty-bitmap:cbt-" + GEN + "-1000", "qemu:dirty-bitmap:cbt-" + GEN + "-+1",
                "qemu:dirty-bitmap:cbt-" + GEN + "-\u0663", "qemu:dirty-bitmap:cbt--1", "qemu:dirty-bitmap:cbt-1",
                "qemu:dirty-bitmap:other-" + GEN + "-1", "base:allocation"}) {
            assertNull(CbtBitmapName.parse(s), s);
        }
    }
}
