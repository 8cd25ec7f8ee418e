package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;

/**
 * Where a repository keeps its files: named objects ({@code packs/ab/ID.pack},
 * {@code points/7.point}, {@code repository.json}, names relative to the repository, parts
 * separated by {@code /}). Two kinds: a directory ({@link DirectoryStore}) and an S3 bucket
 * ({@link S3Store}); {@link RepositoryLocation} picks one from {@code --repo}. Nothing above
 * this interface knows which.
 *
 * <p>What each call promises (the durability rules: {@code docs/REPOSITORY.md#storage}):
 * <ul>
 * <li>{@link #put}, {@link #create} and {@link #delete} are durable when they return; a reader
 *     sees an object whole or not at all;
 * <li>an object made by a {@link #writer} is whole once {@link Writer#finish} returns, and
 *     durable once {@link #sync} returns after it;
 * <li>{@link #sync} also makes durable every name {@link #used} named since the last sync.
 * </ul>
 * These byte-level calls are also where a later layer seals and opens content (encryption).
 */
public interface ObjectStore extends AutoCloseable {
    /** One object of a listing. */
    record Stored(String name, long size, Instant modified) {
    }

    /** Writes one object in parts, appended in order; readable back while written. */
    interface Writer {
        /** Appends the bytes. */
        void write(ByteBuffer b) throws IOException;

        /** Bytes written so far. */
        long size();

        /** Bytes written so far, from offset; fails once the writer is finished or abandoned. */
        byte[] read(long offset, int length) throws IOException;

        /** Makes the object whole and visible under its name (durable at the next {@link #sync}). */
        void finish() throws IOException;

        /** Drops what was written; the name never appears. */
        void abandon() throws IOException;
    }

    /** The repository as the user names it, for messages: a directory or an s3: URL. */
    String location();

    /** An object's name as messages show it. */
    String describe(String name);

    /** Checks that the place exists and answers; a one-line error saying why not. */
    void checkReachable() throws IOException;

    /** Readies an empty place for a new repository; fails unless it is empty (or absent). */
    void prepare() throws IOException;

    /** The object whole; a {@link java.nio.file.NoSuchFileException} when it is absent. */
    byte[] get(String name) throws IOException;

    /** length bytes of the object from offset; fewer only when the object ends before. */
    byte[] getRange(String name, long offset, int length) throws IOException;

    /**
     * The same into dst[off, off + length); returns how many bytes were read, fewer only when
     * the object ends before. A restore reads every chunk this way into a buffer of its thread:
     * an array per chunk was a tenth of its CPU, in page faults of a heap growing into fresh memory.
     */
    default int getRange(String name, long offset, byte[] dst, int off, int length) throws IOException {
        byte[] b = getRange(name, offset, length);
        System.arraycopy(b, 0, dst, off, b.length);
        return b.length;
    }

    /** The objects whose names start with prefix, sorted by name (temporary files left out). */
    List<Stored> list(String prefix) throws IOException;

    /** Writes or replaces the object, durably. */
    void put(String name, ByteBuffer content) throws IOException;

    /** Creates the object unless one of that name exists; false then, and nothing changed. */
    boolean create(String name, ByteBuffer content) throws IOException;

    /** Removes the object, durably; nothing when it is absent. */
    void delete(String name) throws IOException;

    /** Starts a new object written in parts. */
    Writer writer(String name) throws IOException;

    /** The next commit relies on this object, which another process may have written. */
    void used(String name);

    /** Makes the objects finished and used since the last call durable. */
    void sync() throws IOException;

    /**
     * How a process holds the repository ({@code docs/REPOSITORY.md#lock}): backups, restores
     * and checks share it; a prune shares it too but excludes other prunes; an exclusive
     * holder excludes everyone.
     */
    enum LockMode {
        SHARED, PRUNE, EXCLUSIVE
    }

    /** Takes the repository's lock in that mode; a conflict is an error, nothing waits. */
    Lock lock(LockMode mode) throws IOException;

    /**
     * The names of the lock objects ({@code locks/…}) of the holders alive now: on S3 those
     * rewritten within the staleness bound, in a directory those whose file lock a live
     * process holds (a dead holder's is removed here). The rule of
     * {@code docs/REPOSITORY.md#verify-and-prune} waits for them.
     */
    java.util.Set<String> liveLocks() throws IOException;

    /** A held lock, and what taking it cleaned up. */
    interface Lock extends AutoCloseable {
        /** Temporary files of interrupted runs removed while nobody else used the repository. */
        int removedTemporaries();

        /** The name of this holder's lock object ({@code locks/…}), or null for an exclusive holder of a directory. */
        String name();

        /**
         * Before a point is committed or a pack deleted: fails unless this holder's lock has
         * been alive without a lapse since it was taken (an S3 lock object rewritten within
         * half the staleness bound each time); returns a ticket for {@link #checkSince}.
         */
        long checkHeld() throws IOException;

        /** After the commit: fails if the lock may have lapsed since checkHeld gave the ticket. */
        void checkSince(long ticket) throws IOException;

        @Override
        void close() throws IOException;
    }

    @Override
    void close() throws IOException;
}
