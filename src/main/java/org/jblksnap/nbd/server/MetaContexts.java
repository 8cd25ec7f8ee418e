package org.jblksnap.nbd.server;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.jblksnap.nbd.protocol.Nbd;

/** Ready-made meta context providers, and the query rules they share. */
public final class MetaContexts {
    private MetaContexts() {
    }

    /**
     * base:allocation that reports every byte as allocated data: always true, because "data"
     * only means the server does not know of a hole.
     */
    public static MetaContext allData() {
        return new MetaContext() {
            @Override
            public String name() {
                return Nbd.CONTEXT_BASE_ALLOCATION;
            }

            @Override
            public void extents(long offset, long length, Extents out) {
                out.add(length, 0);
            }
        };
    }

    /**
     * A fixed set of contexts. A LIST query of "" lists them all, a query ending in ':' (a
     * namespace such as "base:", or "qemu:dirty-bitmap:") lists those it prefixes, any other
     * query lists the context of exactly that name. SET only selects exact names.
     */
    public static MetaContextProvider of(MetaContext... contexts) {
        List<MetaContext> all = List.of(contexts);
        return new MetaContextProvider() {
            @Override
            public List<String> list(String query) {
                List<String> names = new ArrayList<>();
                for (MetaContext c : all) {
                    if (matches(query, c.name())) {
                        names.add(c.name());
                    }
                }
                return names;
            }

            @Override
            public MetaContext select(String name) {
                for (MetaContext c : all) {
                    if (c.name().equals(name)) {
                        return c;
                    }
                }
                return null;
            }
        };
    }

    /** Every context of each provider; the first provider that knows a name selects it. */
    public static MetaContextProvider combine(MetaContextProvider... providers) {
        List<MetaContextProvider> all = List.of(providers);
        return new MetaContextProvider() {
            @Override
            public List<String> list(String query) {
                Set<String> names = new LinkedHashSet<>();
                for (MetaContextProvider p : all) {
                    names.addAll(p.list(query));
                }
                return List.copyOf(names);
            }

            @Override
            public MetaContext select(String name) {
                for (MetaContextProvider p : all) {
                    MetaContext c = p.select(name);
                    if (c != null) {
                        return c;
                    }
                }
                return null;
            }
        };
    }

    /** The LIST rule: "" matches everything, "ns:" (ending in a colon) is a prefix, else exact. */
    public static boolean matches(String query, String name) {
        return query.isEmpty() || (query.endsWith(":") ? name.startsWith(query) : name.equals(query));
    }
}
