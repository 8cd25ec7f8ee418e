package org.jblksnap.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jblksnap.testutil.ChildProcess;

/**
 * A daemon's /metrics as its tests read them: each scrape must pass {@code promtool check
 * metrics} (callers assume promtool is installed), and a series' value is read from the text.
 */
final class MetricsScrape {
    private MetricsScrape() {
    }

    /** A TCP port nobody listens on now, for --metrics. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** GET /metrics on 127.0.0.1:port; the body, once promtool passed it (its copy goes to dir). */
    static String scrape(int port, Path dir) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            Path f = dir.resolve("metrics.txt");
            Files.writeString(f, r.body());
            ChildProcess.Result check = ChildProcess.of("sh", "-c", "promtool check metrics < " + f).run();
            assertEquals(0, check.exit(), "promtool check metrics:\n" + check.all() + "\n" + r.body());
            return r.body();
        }
    }

    /** The value of a series, written as it is exposed (name{labels}); NaN when it is not there. */
    static double value(String metrics, String series) {
        Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }
}
