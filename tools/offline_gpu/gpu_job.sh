#!/usr/bin/env bash
# Train fer-edge on a GPU host that reaches no network and takes a size-limited upload per job.
#
# A GPU host with network access needs none of this: `pip install -e '.[train]'` (or
# '.[train-jax]' with 'jax[cuda12]') and `fer-edge train`. This script is for batch GPU hosts
# that have Python and JAX but neither the network nor the data, accept at most about 64 MiB of
# files with a job, run one command for a limited time, and return at most 64 MiB (files of at
# most 16 MiB). The limits are variables below.
#
#   workstation: bash tools/offline_gpu/gpu_job.sh prepare
#             downloads the wheels the host lacks (Keras and two of its dependencies, for its
#             CPython $TARGET_PYTHON), builds fer-edge's own into .whl/, and packs FER2013's
#             training faces into .carry/ (carry.py, 50 MB); both folders are git-ignored.
#   GPU host:    OUT=/path/returned bash tools/offline_gpu/gpu_job.sh run PLAN
#             (send the working tree with .whl/ and .carry/) installs the wheels, unpacks the
#             data as the FER2013 CSV, runs the plan's `step` lines on Keras's JAX backend (or on
#             $KERAS_BACKEND, e.g. torch), each cut off so that the whole job ends within
#             $JOB_SECONDS (default 560), and leaves the run folders in $OUT as
#             runs.tgz.part-* (15 MB pieces).
#   workstation: mkdir -p /tmp/runs && cat OUTDIR/runs.tgz.part-* | tar -xz -C /tmp/runs
#             (the path the runs had on the host, which run.json records, e.g. for a teacher),
#             then report each finished run on test/, which stayed on the workstation:
#             fer-edge eval /tmp/runs/NAME/model.keras --json /tmp/runs/NAME/metrics.json --confusion /tmp/runs/NAME/confusion.png
#
# A run cut off by the budget comes back with its checkpoints/ where they fit in what a job
# returns (bring_back.py says which, in the job log), so `fer-edge train --out /tmp/runs/NAME
# --resume --data ../shared/fer2013` continues it on the workstation. Plans are in plans/.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS=tools/offline_gpu

PYTHON=${PYTHON:-python3}
TARGET_PYTHON=${TARGET_PYTHON:-3.12}    # the GPU machine's CPython
PACK=.carry/fer2013-train.npz.xz

prepare() {
    local keras_version
    keras_version=$("$PYTHON" -c "import importlib.metadata as m; print(m.version('keras'))")
    rm -rf .whl && mkdir -p .whl .carry
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest .whl \
        --python-version "$TARGET_PYTHON" --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        "keras==$keras_version" namex optree
    "$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir .whl .
    if [ ! -f "$PACK" ]; then
        "$PYTHON" "$TOOLS/carry.py" pack "${FER2013_DIR:-../shared/fer2013}" "$PACK"
    fi
    ls -l .whl "$PACK"
    echo "travels: $(( ($(git ls-files -z | xargs -0 cat | wc -c) + $(cat .whl/* "$PACK" | wc -c)) / 1048576 )) MiB of 64"
}

run() {
    local plan=$1
    : "${OUT:?OUT must name the folder whose files come back}"
    local started=$SECONDS budget=${JOB_SECONDS:-560}
    # JAX by default; KERAS_BACKEND=torch uses the machine's PyTorch instead (its restart points
    # then resume only on PyTorch).
    # PYTHONSAFEPATH: the repository's own fer_edge/ folder (without train/, which the wheel maps
    # into it) must not shadow the installed package from the current directory.
    export PYTHONPATH=/tmp/fer-edge-site PYTHONSAFEPATH=1 KERAS_BACKEND=${KERAS_BACKEND:-jax} TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1
    "$PYTHON" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/fer-edge-site .whl/*.whl
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
    DATA=/tmp/fer2013.csv RUNS=/tmp/runs
    FER_EDGE="$PYTHON -m fer_edge.cli"
    mkdir -p "$RUNS"
    "$PYTHON" "$TOOLS/carry.py" unpack "$PACK" "$DATA"

    seconds_left() { echo $(( budget - (SECONDS - started) - 40 )); }
    # How many epochs of ARCH (at most WANT) fit in SECONDS, from a 3-epoch probe run's steady
    # epochs (the first one compiles); 0 when none does, or the probe itself outlasts the budget.
    # SECONDS counts from before the probe, which spends part of it (20-40 s on an H100).
    epochs_that_fit() {
        local arch=$1 want=$2 seconds=$3 probe=/tmp/probe-$1 probe_started=$SECONDS
        rm -rf "$probe"
        timeout --signal=INT --kill-after=20 "$(seconds_left)" \
            $FER_EDGE train --arch "$arch" --data "$DATA" --out "$probe" --epochs 3 --warmup-epochs 0 >"$probe.log" 2>&1 \
            || { tail -3 "$probe.log" >&2; echo 0; return 0; }
        "$PYTHON" - "$probe/checkpoints/state.json" "$want" $(( seconds - (SECONDS - probe_started) )) <<'EOF'
import json, sys
state, want, seconds = json.load(open(sys.argv[1])), int(sys.argv[2]), float(sys.argv[3])
per_epoch = max(state["epoch_seconds"][1:])
fit = min(want, int((seconds - 45) / per_epoch))  # 45 s: compiling, teachers' targets, the report
print(max(fit, 0))
print(f"probe epochs took {state['epoch_seconds']} s: {fit} epochs fit in {seconds:.0f} s", file=sys.stderr)
EOF
    }
    # One line of the plan: runs while the budget lasts, keeping 40 s to pack the results.
    step() {
        local left
        left=$(seconds_left)
        if (( left < 30 )); then echo "skipped (budget spent): $*"; return 0; fi
        echo "+ $* (at most ${left} s)"
        timeout --signal=INT --kill-after=20 "$left" "$@" || echo "step ended with status $? after $(( SECONDS - started )) s"
    }
    # A step whose output goes to RUNS/NAME.log (it comes back with the runs), for plans that run
    # several side by side (`logged NAME cmd ... &`); the job log gets each one's last line.
    logged() { local name=$1; shift; step "$@" >"$RUNS/$name.log" 2>&1; echo "$name: $(tail -1 "$RUNS/$name.log")"; }
    # shellcheck source=/dev/null
    source "$plan" 2>&1 | tee "$OUT/job.log"

    # What fits in what a call returns (bring_back.py): every run's records, then finished
    # runs' models and cut-off runs' checkpoints, smallest first, within 60 MiB.
    "$PYTHON" "$TOOLS/bring_back.py" "$RUNS" --cap-mib 60 2>>"$OUT/job.log" \
        | tar -C "$RUNS" --null -T - -czf - | split -b 15M - "$OUT/runs.tgz.part-"
    ls -l "$OUT"
}

case "${1:-}" in
    prepare) prepare ;;
    run) run "${2:?usage: gpu_job.sh run PLAN}" ;;
    *) echo "usage: bash tools/offline_gpu/gpu_job.sh prepare | run PLAN" >&2; exit 2 ;;
esac
