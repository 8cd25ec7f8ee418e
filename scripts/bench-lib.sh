# Sourced by scripts/bench-backup and scripts/bench-offsite: the one way they build, make the
# device, serve it, time whole commands and rewrite a share of the device between backups.
#
#   bench_setup NAME          builds jblksnap (as ./jblksnap does, its start-up caches too) and
#                             the test classes, sets JAVA (the java command line of the test
#                             fixtures, with ./jblksnap's JIT options) and
#                             WORK (a new directory /var/tmp/jblksnap-NAME.XXXXXX, a disk, not
#                             a tmpfs), FILE (the device file in it), RUN and SOCK (the daemon's)
#   bench_serve SIZE_MIB TRACKING_SHIFT
#                             makes FILE (1 MiB pieces a third random, a third text-like, a
#                             third zeroes; MixedContent, seed 1), starts the daemon serving it
#                             as disk0 (DAEMON_PID) and reads FILE once into the page cache
#   bench_rewrite PERCENT     PERCENT of disk0 in random 4 KiB-aligned 4 KiB writes through NBD
#   bench_start_daemon ROOT TRACKING_SHIFT
#                             starts the daemon of the build at ROOT serving FILE (another
#                             checkout: scripts/bench-ab)
#   bench_stop_daemon         destroys SNAPSHOT if set and stops the daemon by its pid
#   timed NAME COMMAND...     runs it (output to $WORK/NAME.out) and sets T[NAME] in seconds
#   goal TEXT VALUE OP LIMIT  prints a goal's line: the value, the goal, met or MISSED
#   jb ARGS, jbd ARGS         ./jblksnap, as a user runs it (jbd: against the daemon's run
#                             directory); JBLKSNAP_BENCH_JAVA_OPTS reaches its JVM
# The caller sources env.sh first and removes WORK at its end.

bench_setup() {
    cd "$JBLKSNAP_ROOT"
    ensure_built
    export JBLKSNAP_NO_BUILD=1 # no build inside a timed command, none under the bench's daemon
    mvn -q -B -o test-compile >&2 2>/dev/null || mvn -q -B test-compile >&2
    CP="$JBLKSNAP_ROOT/target/classes:$JBLKSNAP_ROOT/target/test-classes:$(cat "$JBLKSNAP_ROOT/target/test.classpath")"
    source "$JBLKSNAP_ROOT/scripts/jvm-limits" # JVM_JIT and jvm_startup, as ./jblksnap runs with
    JAVA=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED "${JVM_JIT[@]}" ${JBLKSNAP_BENCH_JAVA_OPTS:-} -cp "$CP")
    WORK=$(mktemp -d "/var/tmp/jblksnap-$1.XXXXXX")
    FILE="$WORK/disk0.img"
    RUN="$WORK/run"
    SOCK="$RUN/nbd.sock"
    DAEMON_PID=
    SNAPSHOT=
}

# the command users run: its jar, start-up cache and JIT options (jvm_startup, jvm_aot)
jb() { JBLKSNAP_JAVA_OPTS="${JBLKSNAP_BENCH_JAVA_OPTS:-}" "$JBLKSNAP_ROOT/jblksnap" "$@"; }
jbd() { jb "$@" --run-dir "$RUN"; }

bench_stop_daemon() {
    if [ -n "$SNAPSHOT" ]; then jbd snapshot_destroy -i "$SNAPSHOT" >/dev/null 2>&1 || true; fi
    if [ -n "$DAEMON_PID" ]; then
        kill "$DAEMON_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$DAEMON_PID" 2>/dev/null || true
    fi
}

now() { date +%s.%N; }
calc() { python3 -c "import sys; print(eval(sys.argv[1]))" "$1"; }
value() { grep "^$1=" | head -1 | cut -d= -f2; }
declare -A T
# Each timed command starts with nothing dirty to write back: on ext4 (data=ordered) an fsync
# may wait for other files' dirty data, and a command paid for the previous tool's writes (an
# incremental after borg's full took 3.6 s where alone it takes 1.9 s).
timed() {
    local name=$1 t0; shift
    sync
    t0=$(now)
    "$@" > "$WORK/$name.out" 2>&1 || { echo "$name failed:" >&2; cat "$WORK/$name.out" >&2; exit 1; }
    T[$name]=$(calc "'%.2f' % ($(now) - $t0)")
    echo "  $name: ${T[$name]} s" >&2
}
stored() { du -sb "$1" | cut -f1; }
mib() { calc "'%.0f' % ($1 / 1048576)"; }
goal() { # goal TEXT VALUE OP LIMIT
    local ok; ok=$(calc "'met' if $2 $3 $4 else 'MISSED'")
    printf '  %-52s %8s  (goal %s %s: %s)\n' "$1" "$2" "$3" "$4" "$ok"
}

bench_serve() {
    local size_mib=$1 tracking_shift=$2
    "${JAVA[@]}" org.jblksnap.testutil.MixedContent "$FILE" "$size_mib" 1
    SIZE=$((size_mib << 20))
    bench_start_daemon "$JBLKSNAP_ROOT" "$tracking_shift"
    cat "$FILE" > /dev/null   # every reader finds the device in the page cache
}

# bench_start_daemon ROOT TRACKING_SHIFT: the daemon of the build at ROOT serving FILE as disk0
# (DAEMON_PID), in a new RUN; returns once it answers
bench_start_daemon() {
    local root=$1 tracking_shift=$2
    rm -rf "$RUN"
    # started straight from this shell (./jblksnap execs java), so that $! is the daemon's own pid
    JBLKSNAP_JAVA_OPTS="${JBLKSNAP_BENCH_JAVA_OPTS:-}" "$root/jblksnap" daemon --run-dir "$RUN" \
        --device disk0="$FILE" --param chunk_minimum_shift=16 --param tracking_block_minimum_shift="$tracking_shift" \
        > "$WORK/daemon.log" 2>&1 &
    DAEMON_PID=$!
    for _ in $(seq 300); do
        [ -S "$RUN/control.sock" ] && "$root/jblksnap" snapshot_collect --run-dir "$RUN" >/dev/null 2>&1 && return
        kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$WORK/daemon.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "the daemon of $root did not answer within 30 s" >&2
    exit 1
}

bench_rewrite() {
    local writes=$((SIZE * $1 / 100 / 4096)) cmds=()
    RANDOM=42
    for _ in $(seq "$writes"); do
        cmds+=(-c "write -P $((1 + RANDOM % 255)) $(( ((RANDOM << 15) | RANDOM) % (SIZE / 4096) * 4096 )) 4096")
    done
    qemu-io -f raw "${cmds[@]}" "nbd+unix:///disk0?socket=$SOCK" > /dev/null
}
