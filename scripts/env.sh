# Sourced by the project's scripts: selects Java 25 and knows how to install what is missing.
JBLKSNAP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# (the release file, not `java -version`: every ./jblksnap passes here, and a JVM costs 50 ms)
if [ -z "${JAVA_HOME:-}" ] || ! grep -qs '^JAVA_VERSION="25' "$JAVA_HOME/release"; then
    for j in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk-arm64 /usr/lib/jvm/java-25-openjdk-amd64; do
        if [ -x "$j/bin/java" ]; then JAVA_HOME="$j"; break; fi
    done
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"

# apt_need PROGRAM-or-FILE PACKAGE...: installs the packages when the program/file is missing.
apt_need() {
    local probe="$1"; shift
    if [ -e "$probe" ] || command -v "$probe" >/dev/null 2>&1; then return 0; fi
    echo "jblksnap: installing $* (needed for $probe)" >&2
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
    if [ -z "${JBLKSNAP_APT_UPDATED:-}" ]; then
        $SUDO apt-get update -q >&2 || return 1
        export JBLKSNAP_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "$@" >&2
}

ensure_build_tools() {
    [ -x "$JAVA_HOME/bin/java" ] || { echo "jblksnap: Java 25 (Temurin) not found under /usr/lib/jvm" >&2; exit 1; }
    apt_need mvn maven
}

# The NBD clients and peers, FUSE and the file-system tools the tests and benchmarks use.
ensure_test_tools() {
    apt_need nbdinfo libnbd-bin
    apt_need qemu-img qemu-utils
    apt_need nbdkit nbdkit
    apt_need fio fio
    apt_need fusermount3 fuse3
    apt_need /usr/include/fuse3/fuse.h libfuse3-dev
    apt_need /usr/lib/python3/dist-packages/nbd.py python3-libnbd
    apt_need qemu-storage-daemon qemu-system-common
    apt_need mkfs.xfs xfsprogs
    apt_need mkfs.ext4 e2fsprogs
    apt_need promtool prometheus
    apt_need certtool gnutls-bin
    apt_need parted parted
}

# What the VM end-to-end test boots: QEMU, a static busybox for the guest's initramfs, and a
# Debian kernel unpacked (not installed) into $JBLKSNAP_VM_DIR with its modules' dependencies.
JBLKSNAP_VM_DIR="${JBLKSNAP_VM_DIR:-/var/cache/jblksnap/vm}"
export JBLKSNAP_VM_DIR
ensure_vm_tools() {
    apt_need qemu-system-x86_64 qemu-system-x86
    apt_need busybox busybox-static
    apt_need cpio cpio
    apt_need depmod kmod
    if ! ls "$JBLKSNAP_VM_DIR"/boot/vmlinuz-* >/dev/null 2>&1; then
        local pkg tmp
        pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
        [ -n "$pkg" ] || { echo "jblksnap: no Debian kernel package found for the VM test" >&2; return 1; }
        echo "jblksnap: unpacking $pkg into $JBLKSNAP_VM_DIR (for the VM test)" >&2
        tmp=$(mktemp -d)
        (cd "$tmp" && apt-get download -q "$pkg" >&2) || { rm -rf "$tmp"; return 1; }
        mkdir -p "$JBLKSNAP_VM_DIR.new"
        dpkg-deb -x "$tmp"/*.deb "$JBLKSNAP_VM_DIR.new"
        depmod -b "$JBLKSNAP_VM_DIR.new" "${pkg#linux-image-}"
        rm -rf "$tmp" "$JBLKSNAP_VM_DIR"
        mv "$JBLKSNAP_VM_DIR.new" "$JBLKSNAP_VM_DIR"
    fi
}

# The backup tools jblksnap is measured against (scripts/bench-backup).
ensure_backup_peers() {
    apt_need restic restic
    apt_need borg borgbackup
}

# Ceph's monitor, OSD and RADOS Gateway (Debian's 16.2 packages) for scripts/s3-server, the S3
# object store the tests use. Recommends would pull in the manager, the dashboard and more.
ensure_s3_tools() {
    local probe
    for probe in ceph-mon ceph-osd monmaptool ceph radosgw radosgw-admin; do
        if ! command -v "$probe" >/dev/null 2>&1; then
            apt_need "$probe" --no-install-recommends ceph-mon ceph-osd ceph-common radosgw || return 1
            return 0
        fi
    done
}

# Builds the jar's classes and the runtime class path when a source is newer than the build.
ensure_built() {
    local stamp="$JBLKSNAP_ROOT/target/.built"
    # JBLKSNAP_NO_BUILD: built already (scripts/aot-cache's own runs, a benchmark's timed commands)
    [ -z "${JBLKSNAP_NO_BUILD:-}" ] || return 0
    if [ ! -f "$stamp" ] || [ -n "$(find "$JBLKSNAP_ROOT/src/main" "$JBLKSNAP_ROOT/pom.xml" -newer "$stamp" -print -quit)" ]; then
        ensure_build_tools
        # a new file, not the old one rewritten: a running daemon keeps reading the jar it started with
        local jar="$JBLKSNAP_ROOT/target/jblksnap.jar"
        if [ -f "$jar" ]; then mv -f "$jar" "$jar.old"; fi
        (cd "$JBLKSNAP_ROOT" && mvn -q -B -DskipTests package >&2) || { echo "jblksnap: build failed" >&2; exit 1; }
        rm -f "$jar.old"
        echo "jblksnap: training the JVM's start-up caches (once per build)" >&2
        "$JBLKSNAP_ROOT/scripts/aot-cache" || {
            local rc=$?
            [ "$rc" -lt 128 ] || exit "$rc" # interrupted: so is the command, and the next one builds again
        }
        touch "$stamp"
    fi
}
