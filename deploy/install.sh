#!/bin/sh
# Installs streamlearn as a systemd service: the binary, the unit files, and an example
# configuration that an existing one never replaces.
#
#   deploy/install.sh [--binary PATH] [--root DIR]
#
#   --binary PATH  the streamlearn executable to install (default: .build/release/streamlearn
#                  in the repository, as `swift build -c release --static-swift-stdlib`
#                  leaves it: the Swift runtime linked in, so no toolchain is needed)
#   --root DIR     install below DIR instead of / (for packaging and tests); DESTDIR works too.
#                  systemd is only told to reload when installing into / on a systemd host.
#
# What goes where:
#   /usr/local/bin/streamlearn                      0755
#   /etc/systemd/system/streamlearn.service         0644
#   /etc/systemd/system/streamlearn@.service        0644
#   /etc/streamlearn/                               0750 root:root
#   /etc/streamlearn/streamlearn.json               0640 root:root, only if absent
#   /usr/local/share/doc/streamlearn/config.md      0644 (config/README.md)
#   /usr/local/share/doc/streamlearn/examples/      0644 (every config/*.json)
#
# The configuration stays readable by root only: the units pass it to the daemon's dynamic
# user with LoadCredential=, so it may hold secrets.
set -eu

repository=$(cd "$(dirname "$0")/.." && pwd)
binary="$repository/.build/release/streamlearn"
root="${DESTDIR:-}"

usage() {
    sed -n '5,12s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --binary)
            [ $# -ge 2 ] || { echo "install.sh: --binary needs a PATH" >&2; exit 64; }
            binary="$2"
            shift 2
            ;;
        --root)
            [ $# -ge 2 ] || { echo "install.sh: --root needs a DIR" >&2; exit 64; }
            root="$2"
            shift 2
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "install.sh: unknown argument '$1'; see 'install.sh --help'" >&2
            exit 64
            ;;
    esac
done

# Normalise "/" and "" to "", so that "$root/etc" is always a sensible path.
root="${root%/}"

if [ ! -x "$binary" ]; then
    echo "Failed to find executable '$binary': build it with 'swift build -c release --static-swift-stdlib' or pass --binary PATH" >&2
    exit 66
fi

# Ownership can only be given when running as root; a non-root install below --root keeps the
# caller's ownership (a package build fixes it up later).
if [ "$(id -u)" -eq 0 ]; then
    owner="-o root -g root"
elif [ -z "$root" ]; then
    echo "Failed to install into /: permission denied (run as root, or pass --root DIR)" >&2
    exit 77
else
    owner=""
fi

# shellcheck disable=SC2086 # $owner is deliberately split into separate arguments.
install_file() { # MODE SOURCE TARGET
    install $owner -m "$1" "$2" "$3"
}

# shellcheck disable=SC2086
install -d $owner -m 0755 "$root/usr/local/bin" "$root/etc/systemd/system" \
    "$root/usr/local/share/doc/streamlearn/examples"
# shellcheck disable=SC2086
install -d $owner -m 0750 "$root/etc/streamlearn"

install_file 0755 "$binary" "$root/usr/local/bin/streamlearn"
install_file 0644 "$repository/deploy/streamlearn.service" "$root/etc/systemd/system/streamlearn.service"
install_file 0644 "$repository/deploy/streamlearn@.service" "$root/etc/systemd/system/streamlearn@.service"
install_file 0644 "$repository/config/README.md" "$root/usr/local/share/doc/streamlearn/config.md"
for example in "$repository"/config/*.json; do
    install_file 0644 "$example" "$root/usr/local/share/doc/streamlearn/examples/$(basename "$example")"
done

config="$root/etc/streamlearn/streamlearn.json"
if [ -e "$config" ]; then
    echo "Keeping existing configuration '$config'"
else
    install_file 0640 "$repository/config/streamlearn.json" "$config"
    echo "Installed example configuration '$config': edit it before starting the service"
fi

# Only a systemd host (the test sd_booted(3) makes) with the real root has a manager to tell.
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    echo "Installed. Start with: systemctl enable --now streamlearn.service"
else
    echo "Installed below '${root:-/}'; systemd was not asked to reload"
fi
