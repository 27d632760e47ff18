#!/usr/bin/env bash
# Prove the Raspberry Pi install on arm64: an emulated Debian 13 "Trixie" arm64 root (the base of
# Raspberry Pi OS Trixie, Python 3.13, apt's NumPy 2) gets fer-edge exactly as docs/running.md's
# Trixie section installs it, then runs `fer-edge eval` on a third of test/ and `fer-edge run
# --json` on a short 640x480 video of placed test faces and on its first frames as PNG files, on an
# emulated Pi 5 core (Cortex-A76; the PNG frames also on a Pi 4's Cortex-A72);
# scripts/arm64_parity.py compares each with the same commands on this x86_64 machine and fails
# when they differ.
#
#   sudo scripts/check_arm64.sh [--out DIR]      # root: debootstrap, chroot, binfmt
#
# Needs: root, apt (Debian/Ubuntu host), network to Debian's archive and the package index.
# The arm64 root is built once (about 15 minutes) and kept in $FER_EDGE_ARM64_ROOT, default
# ~/.cache/fer-edge/arm64-trixie, outside the repository. The venv inside it is made as a Pi
# user makes it whenever its install inputs (pyproject.toml, the pip line) change, and kept
# otherwise, with fer-edge itself reinstalled from a wheel of this clone. The qemu-aarch64 binfmt handler it registers stays registered
# (remove it with: echo -1 > /proc/sys/fs/binfmt_misc/qemu-aarch64). Times under emulation say
# nothing about a Pi's speed.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "error: check_arm64.sh needs root (debootstrap, chroot, binfmt_misc); run it with sudo" >&2; exit 2; }
# Its own mount namespace: the root's mounts vanish with this script however it ends (a killed
# script runs no EXIT trap), and nothing is mounted over the host's folders.
if [ -z "${FER_EDGE_ARM64_NAMESPACE:-}" ]; then
    export FER_EDGE_ARM64_NAMESPACE=1
    exec unshare --mount --propagation private bash "$0" "$@"  # before the arguments are parsed (and shifted away)
fi

REPO=$(cd "$(dirname "$0")/.." && pwd)
DATA=$(cd "${FER2013_DIR:-$REPO/../shared/fer2013}" 2>/dev/null && pwd) || { echo "error: FER2013 not found at ${FER2013_DIR:-$REPO/../shared/fer2013}; set FER2013_DIR" >&2; exit 2; }
ROOT=${FER_EDGE_ARM64_ROOT:-$HOME/.cache/fer-edge/arm64-trixie}
HOST_PYTHON=${HOST_PYTHON:-$REPO/.venv/bin/python}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The cores of a Raspberry Pi 5 and a Pi 4, as qemu emulates them: eval and the video on the
# first, the PNG frames on both.
PI_CPUS="cortex-a76 cortex-a72"
MAIN_CPU=cortex-a76
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        *) echo "error: unknown argument $1 (usage: check_arm64.sh [--out DIR])" >&2; exit 2 ;;
    esac
done
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)

# What docs/running.md's Trixie section installs with apt (python3-picamera2 comes from Raspberry Pi's
# own archive, which a plain Debian root does not have; its NumPy is this apt NumPy).
APT_PACKAGES="python3-venv python3-pip python3-numpy python3-libcamera ca-certificates"

say() { echo "== [$(( SECONDS / 60 )):$(printf %02d $(( SECONDS % 60 )))] $*"; }
die() { echo "error: $*" >&2; exit 2; }

[ -x "$HOST_PYTHON" ] || die "$HOST_PYTHON not found; set HOST_PYTHON to a Python with fer-edge installed (the README's first line makes .venv)"

# --- tools and the binfmt handler that runs arm64 programs through qemu ----------------------------
if ! command -v qemu-aarch64-static >/dev/null || ! command -v debootstrap >/dev/null; then
    say "installing qemu-user-static and debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static debootstrap >/dev/null
fi
QEMU=$(command -v qemu-aarch64-static)
BINFMT=/proc/sys/fs/binfmt_misc
[ -e "$BINFMT/register" ] || mount -t binfmt_misc binfmt_misc "$BINFMT"
if [ ! -e "$BINFMT/qemu-aarch64" ]; then
    # F: the kernel opens qemu now, so it works inside the chroot without a copy there.
    echo ":qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:$QEMU:FP" > "$BINFMT/register"
fi

# --- the arm64 Debian 13 root, built once -----------------------------------------------------------
if [ ! -e "$ROOT/.fer-edge-debootstrapped" ]; then
    say "building the arm64 Debian 13 root in $ROOT (once; about 15 minutes)"
    rm -rf "$ROOT.partial"
    mkdir -p "$(dirname "$ROOT")"
    debootstrap --arch=arm64 --variant=minbase --include=python3,ca-certificates trixie "$ROOT.partial" "$MIRROR" > "$OUT/debootstrap.log" 2>&1 \
        || die "debootstrap failed; see $OUT/debootstrap.log"
    touch "$ROOT.partial/.fer-edge-debootstrapped"
    rm -rf "$ROOT" && mv "$ROOT.partial" "$ROOT"
fi

MOUNTS=()
cleanup() {
    for (( i=${#MOUNTS[@]}-1; i>=0; i-- )); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() {  # bind SOURCE TARGET [ro]
    mkdir -p "$2"
    mount --bind "$1" "$2"
    MOUNTS+=("$2")
    [ "${3:-}" != ro ] || mount -o remount,bind,ro "$2"
}
mkdir -p "$ROOT/proc" && mount -t proc proc "$ROOT/proc" && MOUNTS+=("$ROOT/proc")
bind /dev "$ROOT/dev"
bind "$DATA" "$ROOT/mnt/fer2013" ro
bind "$OUT" "$ROOT/mnt/out"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
# XNNPACK (the fast int8 kernels a Pi runs) asks cpuinfo for the CPU list in /sys. The host's /sys
# describes x86 cores and crashes it under qemu; with none, XNNPACK is not used at all. A stand-in
# that lists two cores (the root's /sys is a plain folder) gives the kernels a Pi uses.
mkdir -p "$ROOT/sys/devices/system/cpu"
echo 0-1 > "$ROOT/sys/devices/system/cpu/possible"
echo 0-1 > "$ROOT/sys/devices/system/cpu/present"
# This machine's pip configuration and CA bundle: the package index must be reached from the root as from here.
for conf in /etc/pip.conf "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf"; do
    [ -f "$conf" ] && mkdir -p "$ROOT$(dirname "$conf")" && cp "$conf" "$ROOT$conf"
done
HOST_CA=/usr/local/share/fer-edge-host-ca.crt
cp /etc/ssl/certs/ca-certificates.crt "$ROOT$HOST_CA"

in_root() {  # a command inside the arm64 root, with a clean environment
    in_root_on "" "$@"
}
in_root_on() {  # in_root, on the emulated CPU model $1 (empty: qemu's default)
    local cpu=$1
    shift
    env -i ${cpu:+QEMU_CPU=$cpu} PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive PIP_CERT=$HOST_CA SSL_CERT_FILE=$HOST_CA PIP_DISABLE_PIP_VERSION_CHECK=1 \
        ${PIP_INDEX_URL:+PIP_INDEX_URL=$PIP_INDEX_URL} ${PIP_EXTRA_INDEX_URL:+PIP_EXTRA_INDEX_URL=$PIP_EXTRA_INDEX_URL} \
        ${http_proxy:+http_proxy=$http_proxy} ${https_proxy:+https_proxy=$https_proxy} ${no_proxy:+no_proxy=$no_proxy} \
        PIP_DEFAULT_TIMEOUT=180 \
        chroot "$ROOT" "$@"
}

if [ "$(cat "$ROOT/.fer-edge-apt" 2>/dev/null)" != "$APT_PACKAGES" ]; then
    say "apt: $APT_PACKAGES"
    in_root apt-get update -qq > "$OUT/apt.log" 2>&1 || die "apt-get update in the arm64 root failed; see $OUT/apt.log"
    in_root apt-get install -y -qq --no-install-recommends $APT_PACKAGES >> "$OUT/apt.log" 2>&1 \
        || die "apt-get install in the arm64 root failed; see $OUT/apt.log"
    echo "$APT_PACKAGES" > "$ROOT/.fer-edge-apt"
fi

# --- install fer-edge as docs/running.md tells Trixie users ----------------------------------------
CLONE=/home/pi/fer-edge
VENV=/home/pi/fer-edge-venv
PIP_LINE="--only-binary=:all: $CLONE[device]"
# What the install depends on: the package's requirements and the pip line (not pyproject's tool settings).
INSTALL_KEY=$( ("$HOST_PYTHON" -c 'import json, sys, tomllib; p = tomllib.load(open(sys.argv[1], "rb"))["project"]; print(json.dumps([p.get("requires-python"), p["dependencies"], p["optional-dependencies"]["device"]]))' "$REPO/pyproject.toml"; echo "$PIP_LINE") | sha256sum | cut -c1-16)
rm -rf "$ROOT$CLONE" && mkdir -p "$ROOT$CLONE"
git -C "$REPO" ls-files -z --cached --others --exclude-standard | (cd "$REPO" && tar --null -T - -cf -) | tar -xf - -C "$ROOT$CLONE"
if [ "$(cat "$ROOT$VENV/.fer-edge-install-key" 2>/dev/null)" = "$INSTALL_KEY" ]; then
    say "reinstalling fer-edge from a wheel of this clone into the venv made for these install inputs"
    rm -rf "$OUT/wheel" && "$HOST_PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$OUT/wheel" "$REPO" > "$OUT/pip.log" 2>&1 \
        || { tail -20 "$OUT/pip.log" >&2; die "building fer-edge's wheel failed; see $OUT/pip.log"; }
    WHEEL=$(cd "$OUT/wheel" && echo fer_edge-*.whl)  # named here: nothing expands a pattern inside the root
    in_root "$VENV/bin/pip" install --quiet --no-deps --force-reinstall "/mnt/out/wheel/$WHEEL" >> "$OUT/pip.log" 2>&1 \
        || { tail -20 "$OUT/pip.log" >&2; die "pip install in the arm64 root failed; see $OUT/pip.log"; }
else
    say "installing fer-edge[device] into a new venv (docs/running.md, Trixie)"
    rm -rf "$ROOT$VENV"
    in_root python3 -m venv --system-site-packages "$VENV"
    in_root "$VENV/bin/pip" install --quiet $PIP_LINE > "$OUT/pip.log" 2>&1 \
        || { tail -20 "$OUT/pip.log" >&2; die "pip install in the arm64 root failed; see $OUT/pip.log"; }
    echo "$INSTALL_KEY" > "$ROOT$VENV/.fer-edge-install-key"
fi

# The apt NumPy (what picamera2 is built against) must still be the one the venv imports, and no TensorFlow.
in_root "$VENV/bin/python" -c "
import importlib.util, platform, sys, numpy, cv2, ai_edge_litert
from importlib.metadata import version
assert platform.machine() == 'aarch64', platform.machine()
assert numpy.__file__.startswith('/usr/lib/python3/dist-packages/'), 'pip replaced apt NumPy: ' + numpy.__file__
assert importlib.util.find_spec('tensorflow') is None, 'tensorflow is importable'
import libcamera
print(f'{platform.machine()} Python {platform.python_version()}, NumPy {numpy.__version__} (apt), '
      f'OpenCV {cv2.__version__}, ai-edge-litert {version(\"ai-edge-litert\")}, libcamera bindings import')
" > "$OUT/arm64-versions.txt" || die "the arm64 venv is not as docs/running.md promises (see above)"
"$HOST_PYTHON" -c "
import platform, numpy, cv2
from importlib.metadata import version
print(f'{platform.machine()} Python {platform.python_version()}, NumPy {numpy.__version__}, OpenCV {cv2.__version__}, ai-edge-litert {version(\"ai-edge-litert\")}')
" > "$OUT/x86_64-versions.txt"
say "arm64: $(cat "$OUT/arm64-versions.txt")"
say "x86_64: $(cat "$OUT/x86_64-versions.txt")"

# --- the same two commands on both machines ---------------------------------------------------------
say "building the test video and picking the eval faces"
(cd "$REPO" && "$HOST_PYTHON" scripts/arm64_parity.py prepare "$OUT" --data "$DATA")
HOST_FER_EDGE=$(dirname "$HOST_PYTHON")/fer-edge
[ -x "$HOST_FER_EDGE" ] || die "$HOST_FER_EDGE not found: HOST_PYTHON's venv has no fer-edge installed"
MODEL=models/edge/edge-int8.tflite

say "x86_64: fer-edge eval and run (the reference)"
on_host() {  # on_host NAME COMMAND...: run on x86_64 in $OUT, output to NAME.txt
    local name=$1
    shift
    (cd "$OUT" && "$@") > "$OUT/$name.txt" 2>&1 || { tail -5 "$OUT/$name.txt" >&2; die "x86_64 $name failed"; }
}
on_host x86_64-eval "$HOST_FER_EDGE" eval "$REPO/$MODEL" --data eval-faces --predictions x86_64-eval.csv
on_host x86_64-run "$HOST_FER_EDGE" run --camera video.mp4 --no-display --json x86_64-run.jsonl
on_host x86_64-frames "$HOST_FER_EDGE" run --camera frames --no-display --json x86_64-frames.jsonl

# qemu's default CPU model ("max") offers SVE and SME, which no Pi has; XNNPACK's int8 kernels
# for them gave wrong labels under qemu 7.2. Emulate the Pis' own cores instead, each picking the
# kernels that Pi runs: the Pi 5's Cortex-A76 (with the dot-product instructions) for eval, the
# video and its PNG frames; the Pi 4's Cortex-A72, whose kernels emulate about five times slower,
# for the PNG frames only.
for cpu in $PI_CPUS; do
    if [ "$cpu" = "$MAIN_CPU" ]; then
        say "arm64 on an emulated $cpu: fer-edge eval, from the venv docs/running.md makes"
        in_root_on "$cpu" sh -c "cd /mnt/out && $VENV/bin/fer-edge eval $CLONE/$MODEL --data eval-faces --predictions arm64-$cpu-eval.csv" > "$OUT/arm64-$cpu-eval.txt" 2>&1 \
            || { tail -5 "$OUT/arm64-$cpu-eval.txt" >&2; die "fer-edge eval failed in the arm64 root ($cpu)"; }
        say "arm64 on an emulated $cpu: fer-edge run on the video"
        in_root_on "$cpu" sh -c "cd /mnt/out && $VENV/bin/fer-edge run --camera video.mp4 --no-display --json arm64-$cpu-run.jsonl --verbose" > "$OUT/arm64-$cpu-run.txt" 2>&1 \
            || { tail -5 "$OUT/arm64-$cpu-run.txt" >&2; die "fer-edge run failed in the arm64 root ($cpu)"; }
    fi
    # The same on frames decoded on x86_64 (PNG): what differs on the video but not here is decoding.
    say "arm64 on an emulated $cpu: fer-edge run on the PNG frames"
    in_root_on "$cpu" sh -c "cd /mnt/out && $VENV/bin/fer-edge run --camera frames --no-display --json arm64-$cpu-frames.jsonl" > "$OUT/arm64-$cpu-frames.txt" 2>&1 \
        || { tail -5 "$OUT/arm64-$cpu-frames.txt" >&2; die "fer-edge run on PNG frames failed in the arm64 root ($cpu)"; }
done

say "comparing (scripts/arm64_parity.py)"
(cd "$REPO" && "$HOST_PYTHON" scripts/arm64_parity.py compare "$OUT")
