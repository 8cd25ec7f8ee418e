package org.jblksnap.cli;

import java.util.concurrent.Callable;

import org.jblksnap.repo.Point;
import org.jblksnap.repo.Repository;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** `jblksnap points`: the points of a repository, one line each. */
@Command(name = "points", mixinStandardHelpOptions = true, description = "List a repository's points.")
final class PointsCommand implements Callable<Integer> {
    @Option(names = "--repo", required = true, description = "Repository: a directory, or s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX].")
    String repo;

    @Mixin
    KeyOptions keys;

    @Option(names = {"-d", "--device"}, description = "Only this device's points.")
    String device;

    @Option(names = {"-j", "--json"}, description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (Repository r = Repository.open(repo, false, keys.files())) {
            ArrayNode all = ResultPrinter.array();
            for (Point p : device == null ? r.points().list() : r.points().list(device)) {
                ObjectNode o = all.addObject().put("point", p.id()).put("device", p.meta().device())
                        .put("size", p.meta().size()).put("created", p.meta().created().toString())
                        .put("generation_id", p.meta().generation()).put("changes_number", p.meta().changesNumber())
                        .put("parent", p.meta().parent());
                if (p.meta().stats() != null) {
                    o.put("read_bytes", p.meta().stats().bytesRead()).put("dirty_bytes", p.meta().stats().dirtyBytes());
                }
                if (!json) {
                    System.out.println("point=" + p.id() + " device=" + o.get("device").asText() + " size=" + p.meta().size()
                            + " created=" + p.meta().created());
                }
            }
            if (json) {
                ResultPrinter.print(System.out, all, true);
            }
        }
        return 0;
    }
}
