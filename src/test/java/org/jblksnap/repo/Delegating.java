package org.jblksnap.repo;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * A test double of an interface that passes every call to a real object, around a hook that
 * may act before or after the call, answer instead of it, or throw (an object store whose
 * lock objects stop being rewritten, a writer whose finish runs out of memory).
 */
final class Delegating {
    /** The hook: what the call returns; through makes the real call. */
    @FunctionalInterface
    interface Around {
        Object call(Object self, Method m, Object[] args, Through through) throws Throwable;
    }

    /** The real call, with what it threw unwrapped. */
    @FunctionalInterface
    interface Through {
        Object call() throws Throwable;
    }

    private Delegating() {
    }

    static <T> T proxy(Class<T> type, T target, Around around) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
                (self, m, args) -> around.call(self, m, args, () -> {
                    try {
                        return m.invoke(target, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                })));
    }
}
