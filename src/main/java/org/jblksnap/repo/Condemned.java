package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A prune's marker, {@code prune/condemned-TIME-UUID.json}: the packs it condemned (no point
 * it saw used them, or their used entries were copied to new durable packs) and the lock
 * objects of the holders alive just after the marker was whole ({@code waitFor}, absent until
 * then). Backups treat a condemned pack as absent for dedup; a later prune deletes it once no
 * holder it waits for is alive and no point committed by then needs it. The rule and its
 * proof: {@code docs/REPOSITORY.md#verify-and-prune}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record Condemned(String format, int version, Instant written, String prune, List<String> packs,
        List<String> waitFor) {
    static final String PREFIX = "prune/";
    static final String FORMAT = "jblksnap-condemned";
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);

    /** A marker as listed: its name and content, or why it could not be read (content null). */
    record Listed(String name, Condemned marker, String problem) {
    }

    /** A new marker, before the holders it waits for are known. */
    static Condemned of(String prune, List<String> packs) {
        return new Condemned(FORMAT, 1, Instant.now(), prune, List.copyOf(packs), null);
    }

    static String newName(Instant written) {
        return PREFIX + "condemned-" + TIME.format(written) + "-" + UUID.randomUUID() + ".json";
    }

    /** Whether the holders it waits for are recorded (a prune that died before that wrote none). */
    boolean complete() {
        return waitFor != null;
    }

    Condemned waitingFor(Set<String> holders) {
        return new Condemned(format, version, written, prune, packs, List.copyOf(new TreeSet<>(holders)));
    }

    void put(ObjectStore store, String name) throws IOException {
        store.put(name, ByteBuffer.wrap(Json.MAPPER.writeValueAsBytes(this)));
    }

    /**
     * Every marker of the store, by name; one that is not a marker's JSON is listed with why.
     * A marker that cannot be read (I/O) fails the listing: nobody may go on without its packs.
     */
    static List<Listed> list(ObjectStore store) throws IOException {
        List<ObjectStore.Stored> objects;
        try {
            objects = store.list(PREFIX);
        } catch (NoSuchFileException none) {
            return List.of();
        }
        List<Listed> all = new ArrayList<>();
        for (ObjectStore.Stored o : objects) {
            if (!o.name().endsWith(".json")) {
                continue;
            }
            try {
                Condemned c = Json.MAPPER.readValue(store.get(o.name()), Condemned.class);
                if (!FORMAT.equals(c.format()) || c.version() != 1 || c.packs() == null) {
                    all.add(new Listed(o.name(), null, "not a marker of version 1"));
                } else {
                    all.add(new Listed(o.name(), c, null));
                }
            } catch (NoSuchFileException gone) {
                // swept meanwhile
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                // not written by a prune (they write whole objects): it condemns nothing anyone knows of
                all.add(new Listed(o.name(), null, "not valid JSON: " + e.getOriginalMessage()));
            }
        }
        return all;
    }

    /** The packs condemned by any readable marker. */
    static Set<String> packs(List<Listed> markers) {
        Set<String> all = new TreeSet<>();
        for (Listed l : markers) {
            if (l.marker() != null) {
                all.addAll(l.marker().packs());
            }
        }
        return all;
    }
}
