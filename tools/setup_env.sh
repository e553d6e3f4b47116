#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv with the pinned
# OpenMMLab stack, then install rlpkd in editable mode.
#
# mmcv 2.1.0 has no Python 3.11 wheels on PyPI, so it is built from source
# (about 18 min on 2 cores for CPU ops, much longer with CUDA ops) unless a wheel
# for this torch and ops variant is found, in this order, in:
#   $RLPKD_WHEELHOUSE            a directory given by the caller (CI points it at a prebuilt copy)
#   $RLPKD_CACHE/wheels          default ~/.cache/rlpkd/wheels, filled by earlier builds
# Wheels sit in a subdirectory per variant, e.g. torch2.14.1-cpu/ or torch2.14.1-cuda12.1/;
# a wheel directly in one of these directories is a CPU build (what ../shared/wheels holds
# and what this script built before it knew CUDA), used for the cpu variant only.
#
# Variant: CUDA ops when torch is a CUDA build, nvcc is found ($CUDA_HOME/bin, else PATH,
# else /usr/local/cuda) and a GPU is visible or TORCH_CUDA_ARCH_LIST is set (honoured, and
# part of the cache key); CPU ops otherwise. RLPKD_MMCV_OPS=cpu forces CPU ops;
# RLPKD_MMCV_OPS=cuda stops with an error instead of falling back to CPU ops.
# `setup_env.sh --print-variant` prints the decision and the wheel it would use; installs
# nothing (torch must already be in the venv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RLPKD_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
CACHE="${RLPKD_CACHE:-$HOME/.cache/rlpkd}"
MMCV_VERSION=2.1.0
# Re-run the full install whenever setup.py (the pinned stack) changes.
STAMP="$VENV/.rlpkd-stack-$(sha1sum "$ROOT/setup.py" | cut -c1-12)"

log() { printf '[setup_env] %s\n' "$*" >&2; }

choose_variant() {
    # Sets VARIANT (cpu | cuda<torch's CUDA version>), BUILD_ENV (for mmcv's setup.py),
    # KEY and WHEEL_CACHE. Probes only the venv's torch and nvcc, so tests can fake both.
    local probe torch_ver cuda gpus nvcc nvcc_ver="" why="" loud=""
    probe="$("$VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0],
        torch.version.cuda or "none", torch.cuda.device_count())')" ||
        { log "cannot import torch from $VENV"; exit 1; }
    read -r torch_ver cuda gpus <<<"$probe"
    # Where torch's cpp_extension looks for the toolkit, in its order.
    nvcc="${CUDA_HOME:-${CUDA_PATH:-}}"
    if [ -n "$nvcc" ]; then nvcc="$nvcc/bin/nvcc"
    else nvcc="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"; fi
    if [ -x "$nvcc" ]; then
        nvcc_ver="$("$nvcc" --version | sed -n 's/.*release \([0-9][0-9.]*\),.*/\1/p')" || true
    fi
    local major="${cuda%%.*}" nvcc_major="${nvcc_ver%%.*}"
    # mmcv's setup.py compiles CUDA ops whenever torch.cuda.is_available(), whatever
    # FORCE_CUDA says: the CPU build hides the GPUs.
    VARIANT=cpu BUILD_ENV=(FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=)
    if [ "$cuda" = none ]; then
        why="torch $torch_ver is a CPU build"
    elif [ "${RLPKD_MMCV_OPS:-}" = cpu ]; then
        why="RLPKD_MMCV_OPS=cpu"
    elif [ "$gpus" = 0 ] && [ -z "${TORCH_CUDA_ARCH_LIST:-}" ]; then
        # Without a GPU or an arch list torch has no arch to compile for. PyPI's torch is a
        # CUDA build, so CPU-only machines (CI included) take this branch.
        why="torch is a CUDA $cuda build but no GPU is visible and TORCH_CUDA_ARCH_LIST is unset"
    elif [ "$major" -ge 13 ] || [ "${nvcc_major:-0}" -ge 13 ]; then
        loud=1 why="mmcv $MMCV_VERSION does not build its ops against CUDA >= 13 (torch: CUDA"
        why+=" $cuda, nvcc: ${nvcc_ver:-none}; open-mmlab/mmcv#3308, #3310). Fix: a CUDA 12 build"
        why+=" of torch with a CUDA 12 toolkit, or the maintained onedl-mmcv 2.3 line (with the"
        why+=" onedl-mm* forks of mmdet / mmseg / mmpretrain)"
    elif [ -z "$nvcc_ver" ]; then
        loud=1 why="torch is a CUDA $cuda build but there is no nvcc at $nvcc:"
        why+=" install the CUDA $major toolkit or set CUDA_HOME"
    elif [ "$nvcc_major" != "$major" ]; then
        loud=1 why="nvcc $nvcc_ver and torch's CUDA $cuda differ in major version (torch refuses)"
    else
        VARIANT="cuda$cuda"
        BUILD_ENV=(FORCE_CUDA=1 "CUDA_HOME=$(dirname "$(dirname "$nvcc")")")
        if [ -n "${TORCH_CUDA_ARCH_LIST:-}" ]; then
            BUILD_ENV+=("TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST")
        fi
    fi
    if [ "$VARIANT" = cpu ] && [ "${RLPKD_MMCV_OPS:-}" = cuda ]; then
        log "ERROR: RLPKD_MMCV_OPS=cuda, but CUDA ops cannot be built: $why"
        exit 1
    fi
    if [ -n "$loud" ]; then
        # Falling back keeps CPU runs and the test suite working; stopping would leave no venv.
        log "WARNING: !!! building mmcv with CPU-only ops: $why."
        log "WARNING: !!! mmcv.ops (NMS, RoIAlign, ... in mmdet and mmseg) fail on CUDA tensors;"
        log "WARNING: !!! RLPKD_MMCV_OPS=cuda makes this an error, RLPKD_MMCV_OPS=cpu silences it."
        why="CUDA ops not buildable, see WARNING"
    fi
    # A CUDA wheel holds kernels only for the archs it was built for: an explicit list is
    # part of the key (without one, torch compiles for the GPUs it sees).
    KEY="torch$torch_ver-$VARIANT"
    if [ "$VARIANT" != cpu ] && [ -n "${TORCH_CUDA_ARCH_LIST:-}" ]; then
        KEY+="-arch${TORCH_CUDA_ARCH_LIST//[^0-9A-Za-z.+]/_}"
    fi
    WHEEL_CACHE="$CACHE/wheels/$KEY"
    log "mmcv $MMCV_VERSION ops variant: $VARIANT${why:+ ($why)}; wheel key $KEY"
}

find_mmcv_wheel() {
    # First wheel found, without pipes (a `| head` would SIGPIPE under pipefail).
    local dir wheel dirs=()
    for dir in "${RLPKD_WHEELHOUSE:-}" "$CACHE/wheels"; do
        [ -n "$dir" ] || continue
        dirs+=("$dir/$KEY")
        if [ "$VARIANT" = cpu ]; then dirs+=("$dir"); fi  # flat = CPU wheel (see top)
    done
    for dir in "${dirs[@]}"; do
        for wheel in "$dir"/mmcv-"$MMCV_VERSION"-cp311-*.whl; do
            if [ -f "$wheel" ]; then
                echo "$wheel"
                return 0
            fi
        done
    done
}

build_mmcv_wheel() {
    # Source build with compiled ops. torch 2.14 headers need C++20 but mmcv
    # 2.1.0's setup.py asks for C++17 (host and nvcc): raise that one flag.
    local work
    work="$(mktemp -d)"
    log "building mmcv $MMCV_VERSION with $VARIANT ops from source (${BUILD_ENV[*]})"
    "$VENV/bin/python" -m pip download --quiet --no-deps --no-binary :all: \
        -d "$work" "mmcv==$MMCV_VERSION"
    tar -xzf "$work"/mmcv-"$MMCV_VERSION".tar.gz -C "$work"
    sed -i 's/-std=c++17/-std=c++20/g' "$work/mmcv-$MMCV_VERSION/setup.py"
    mkdir -p "$WHEEL_CACHE"
    (cd "$work/mmcv-$MMCV_VERSION" &&
        env MMCV_WITH_OPS=1 "${BUILD_ENV[@]}" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "$VENV/bin/python" -m pip wheel --no-build-isolation --no-deps -w "$WHEEL_CACHE" .)
    rm -rf "$work"
}

if [ "${1:-}" = --print-variant ]; then
    choose_variant
    printf 'variant=%s\nwheel_cache=%s\nwheel=%s\nbuild_env=%s\n' \
        "$VARIANT" "$WHEEL_CACHE" "$(find_mmcv_wheel)" "${BUILD_ENV[*]}"
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    "$PY" -m venv "$VENV"
fi
# setuptools<82 keeps pkg_resources, which mmcv's build and mmengine import;
# torch's own requirements would otherwise upgrade it, so it rides on every call.
PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'setuptools<82')

if [ ! -f "$STAMP" ]; then
    "${PIP[@]}" wheel ninja
    log "installing torch 2.14.1 / torchvision 0.29.1"
    "${PIP[@]}" torch==2.14.1 torchvision==0.29.1
fi

choose_variant
# mmcv.ops reports the CUDA version its ops were compiled with, "not available" for CPU ops.
installed="$("$VENV/bin/python" -c 'from mmcv.ops import get_compiling_cuda_version as v
print(v())' 2>/dev/null || true)"
case "$VARIANT/$installed" in
    # Installed and importable: CPU ops for cpu; CUDA ops suit any variant (they hold the CPU
    # kernels too), so a GPU venv used from a GPU-less login node is left alone.
    "cpu/not available" | */[0-9]*) ;;
    *)
        wheel="$(find_mmcv_wheel)"
        if [ -z "$wheel" ]; then
            build_mmcv_wheel
            wheel="$(find_mmcv_wheel)"
            log "built $wheel"
        else
            log "reusing $wheel"
            if [ "$(dirname "$wheel")" != "$WHEEL_CACHE" ]; then
                mkdir -p "$WHEEL_CACHE" && cp "$wheel" "$WHEEL_CACHE/"
            fi
        fi
        # --force-reinstall: the other variant of the same version may be installed.
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            --no-deps --force-reinstall "$wheel"
        ;;
esac

if [ ! -f "$STAMP" ]; then
    log "installing the OpenMMLab stack and rlpkd"
    "${PIP[@]}" -e "$ROOT[all,dev]"
    touch "$STAMP"
else
    # Cheap: refresh the editable install in case setup.py changed.
    "${PIP[@]}" --no-deps -e "$ROOT"
fi
log "ready: $VENV"
