#!/usr/bin/env bash
# Boots a real systemd (PID 1 of a systemd-nspawn container) and checks the units in deploy/
# under it: readiness, watchdog, restart after a crash, resume from the checkpoint, exit status
# 78 without restart, and two template instances side by side. The checks themselves run inside
# the container (checks.sh); this script builds the root, the payload and the container.
#
#   Tests/system/run.sh [--rebuild-root]
#
# Needs root and the Debian mirror (for debootstrap, once). The root is cached in
# $STREAMLEARN_SYSTEM_ROOT (default /var/cache/streamlearn/system-root) and booted with
# --volatile=overlay, so every run starts from the same pristine root and a cached run takes
# about a minute plus the release build.
set -euo pipefail

repository=$(cd "$(dirname "$0")/../.." && pwd)
root=${STREAMLEARN_SYSTEM_ROOT:-/var/cache/streamlearn/system-root}
work=$(mktemp -d /var/tmp/streamlearn-system.XXXXXX)
machine="streamlearn-test-$$"
nspawn_pid=""
container_pid=""
cgroups=()

log() { printf '== %s\n' "$*" >&2; }
fail() { printf 'system test: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "must run as root (systemd-nspawn boots a container)"

if [ "${1:-}" = "--rebuild-root" ]; then
    rm -rf "$root"
fi

missing=()
for tool in systemd-nspawn:systemd-container debootstrap:debootstrap; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The root: a minimal Debian with systemd and the daemon's runtime libraries. Built into a
# temporary folder and renamed, so an interrupted build is never mistaken for a finished one.
if [ ! -e "$root/.streamlearn-root" ]; then
    log "building the container root in $root (about a minute or three, once)"
    rm -rf "$root.partial"
    mkdir -p "$(dirname "$root")"
    debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,libnss-systemd,librdkafka1,libopenblas0-pthread,zlib1g \
        bookworm "$root.partial" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
        || { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }
    touch "$root.partial/.streamlearn-root"
    rm -rf "$root"
    mv "$root.partial" "$root"
fi

# The payload: a release binary with the Swift runtime linked in (the container has no Swift
# toolchain, like a production host), the units, the installer and the example configs.
log "building the release binary"
(cd "$repository" && swift build -c release --static-swift-stdlib \
    >"$work/build.log" 2>&1) || { tail -n 30 "$work/build.log" >&2; fail "release build failed"; }
payload="$work/payload"
mkdir -p "$payload"
cp "$repository/.build/release/streamlearn" "$payload/"
cp -r "$repository/deploy" "$repository/config" "$payload/"
cp "$repository/Tests/system/checks.sh" "$payload/"

cleanup() {
    local status=$?
    if [ -n "$container_pid" ] && kill -0 "$container_pid" 2>/dev/null; then
        nsenter -t "$container_pid" -a systemctl poweroff >/dev/null 2>&1 || true
    fi
    if [ -n "$nspawn_pid" ]; then
        for _ in $(seq 1 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$nspawn_pid" 2>/dev/null || true
        wait "$nspawn_pid" 2>/dev/null || true
    fi
    # nspawn creates payload/ and supervisor/ below the launcher's cgroup: remove the subtree.
    for cgroup in "${cgroups[@]}"; do
        [ -d "$cgroup" ] && find "$cgroup" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

# A cgroup of our own in every hierarchy that nspawn writes to, so that it leaves nothing at
# the top of the host's hierarchies.
if [ "$(stat -fc %T /sys/fs/cgroup)" = "cgroup2fs" ]; then
    hierarchies=(/sys/fs/cgroup)
else
    hierarchies=()
    for hierarchy in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
        [ -d "$hierarchy" ] && hierarchies+=("$hierarchy")
    done
fi
for hierarchy in "${hierarchies[@]}"; do
    mkdir "$hierarchy/$machine"
    cgroups+=("$hierarchy/$machine")
done

log "booting systemd in the container"
# nspawn runs in a private mount namespace with a tmpfs on /run/systemd: there is no host
# systemd to register with, and it must not write below the host's /run.
# shellcheck disable=SC2016 # expanded by the inner shell
launcher='
    for cgroup in "$@"; do echo $$ > "$cgroup/cgroup.procs"; done
    exec unshare --mount --propagation private sh -c "
        mount -t tmpfs tmpfs /run/systemd &&
        exec systemd-nspawn --boot --register=no --keep-unit --volatile=overlay \
            --directory=$ROOT --machine=$MACHINE --bind-ro=$PAYLOAD:/payload \
            --console=passive"
'
ROOT="$root" MACHINE="$machine" PAYLOAD="$payload" \
    bash -c "$launcher" launcher "${cgroups[@]}" >"$work/nspawn.log" 2>&1 &
nspawn_pid=$!

# The container's PID 1 is the systemd whose innermost PID is 1 and whose ancestor is nspawn.
deadline=$((SECONDS + 30))
while [ -z "$container_pid" ]; do
    [ $SECONDS -lt $deadline ] || { cat "$work/nspawn.log" >&2; fail "the container did not boot in 30 s"; }
    kill -0 "$nspawn_pid" 2>/dev/null || { cat "$work/nspawn.log" >&2; fail "systemd-nspawn exited"; }
    for pid in $(pgrep -x systemd || true); do
        if grep -qE '^NSpid:.*[[:space:]]1$' "/proc/$pid/status" 2>/dev/null \
            && [ "$(cat "/proc/$pid/comm")" = systemd ] \
            && pstree -p "$nspawn_pid" 2>/dev/null | grep -q "($pid)"; then
            container_pid=$pid
        fi
    done
    [ -n "$container_pid" ] || sleep 0.2
done
timeout 60 nsenter -t "$container_pid" -a systemctl is-system-running --wait >/dev/null \
    || log "the container booted degraded: $(nsenter -t "$container_pid" -a systemctl --failed --no-legend)"

log "running the checks under systemd $(nsenter -t "$container_pid" -a systemctl --version | head -n 1 | cut -d' ' -f2)"
nsenter -t "$container_pid" -a /bin/bash /payload/checks.sh
