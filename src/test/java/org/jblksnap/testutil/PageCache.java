package org.jblksnap.testutil;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/** What of a file the page cache holds, as util-linux's fincore sees it. */
public final class PageCache {
    private PageCache() {
    }

    /** Bytes of the file in the page cache; the test is skipped, with the reason, where fincore does not run. */
    public static long residentBytes(Path file) throws IOException, InterruptedException {
        ChildProcess.Result r = ChildProcess.of("fincore", "--bytes", "--noheadings", "--output", "RES", file.toString())
                .timeout(Duration.ofSeconds(30)).run();
        assumeTrue(r.ok(), "fincore (util-linux) is not usable: " + r.all());
        return Long.parseLong(r.out().strip());
    }
}
