package org.jblksnap.fuse;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Undo steps run in reverse order of registration, all of them, even when some fail (with an
 * exception, or with the AssertionError of a test helper).
 */
final class Teardown implements AutoCloseable {
    /** One undo step. */
    interface Step {
        void run() throws Exception;
    }

    private final Deque<Step> steps = new ArrayDeque<>();

    void add(Step step) {
        steps.push(step);
    }

    @Override
    public void close() throws Exception {
        Throwable first = null;
        while (!steps.isEmpty()) {
            try {
                steps.pop().run();
            } catch (Exception | AssertionError e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first instanceof Exception e) {
            throw e;
        }
        if (first != null) {
            throw (AssertionError) first;
        }
    }
}
