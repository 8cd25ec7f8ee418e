# Sourced by the project's scripts: selects Java 25 and knows how to install what is missing.
JBLKSNAP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25'; then
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
    if [ ! -f "$stamp" ] || [ -n "$(find "$JBLKSNAP_ROOT/src/main" "$JBLKSNAP_ROOT/pom.xml" -newer "$stamp" -print -quit)" ]; then
        ensure_build_tools
        (cd "$JBLKSNAP_ROOT" && mvn -q -B -DskipTests package >&2) || { echo "jblksnap: build failed" >&2; exit 1; }
        touch "$stamp"
    fi
}
