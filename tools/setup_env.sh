#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv with the pinned
# OpenMMLab stack, then install rlpkd in editable mode.
#
# mmcv 2.1.0 has no Python 3.11 wheels on PyPI, so it is built from source
# (about 18 min on 2 cores for CPU ops; see docs/install.md for CUDA ops) unless a wheel
# for this torch and ops variant is found, in this order, in:
#   $RLPKD_WHEELHOUSE            a directory given by the caller (CI points it at a prebuilt copy)
#   $RLPKD_CACHE/wheels          default ~/.cache/rlpkd/wheels, filled by earlier builds
# Wheels sit in a subdirectory per variant, e.g. torch2.14.1-cpu/ or torch2.14.1-cuda12.1/;
# a wheel directly in one of these directories is a CPU build (what ../shared/wheels holds
# and what this script built before it knew CUDA), used for the cpu variant only.
#
# Variant: CUDA ops when torch is a CUDA build and a GPU is visible or TORCH_CUDA_ARCH_LIST is
# set (honoured, and part of the cache key); CPU ops otherwise (CI: PyPI's CUDA torch, no GPU).
# The CUDA toolkit for the build: $CUDA_HOME (or $CUDA_PATH) when set; else, when torch pins
# PyPI's `cuda-toolkit` (torch 2.14.1+cu130 pins 13.0.3), that same release's nvcc and headers
# from PyPI, installed into the venv at build time (`cuda-toolkit[nvcc,cccl]==<pin>`, ~270 MB;
# CUDA_HOME=<site-packages>/nvidia/cu<major>); else nvcc on PATH, else /usr/local/cuda.
# mmcv 2.1.0's sources build unpatched against CUDA 13 (with C++20, see build_mmcv_wheel);
# CUDA 13 compiles for compute capability >= 7.5 only, so an older TORCH_CUDA_ARCH_LIST entry
# is an error. RLPKD_MMCV_OPS=cpu forces CPU ops; RLPKD_MMCV_OPS=cuda stops with an error
# instead of falling back to CPU ops when no usable toolkit is found.
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

probe_torch() {
    # Prints: torch version (no local tag), torch.version.cuda or none, GPU count, the
    # cuda-toolkit release torch pins (or none), and the venv's nvidia/ package directory.
    "$VENV/bin/python" -c 'import importlib.metadata as md, os, re, torch
pin = [m.group(2) for r in md.requires("torch") or []
       for m in [re.match(r"cuda-toolkit(\[[^]]*\])?==([0-9.]+)", r)] if m]
print(torch.__version__.split("+")[0], torch.version.cuda or "none", torch.cuda.device_count(),
      (pin or ["none"])[0], os.path.join(os.path.dirname(os.path.dirname(torch.__file__)),
      "nvidia"))'
}

find_toolkit() {
    # Sets CUDA_ROOT (toolkit directory), TOOLKIT_PIN (PyPI release to install, or empty) and
    # NVCC_VER (release nvcc reports, or empty), looking where the header says.
    local major="${cuda%%.*}" nvcc
    TOOLKIT_PIN="" NVCC_VER=""
    CUDA_ROOT="${CUDA_HOME:-${CUDA_PATH:-}}"
    if [ -z "$CUDA_ROOT" ] && [ "$pin" != none ]; then
        TOOLKIT_PIN="$pin" CUDA_ROOT="$nvidia/cu$major" NVCC_VER="${pin%.*}"
    elif [ -z "$CUDA_ROOT" ]; then
        nvcc="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
        CUDA_ROOT="$(dirname "$(dirname "$nvcc")")"
    fi
    nvcc="$CUDA_ROOT/bin/nvcc"
    if [ -x "$nvcc" ]; then
        NVCC_VER="$("$nvcc" --version | sed -n 's/.*release \([0-9][0-9.]*\),.*/\1/p')" || true
    fi
}

old_archs() {
    # The TORCH_CUDA_ARCH_LIST entries below compute capability 7.5 (e.g. "6.1 7.0").
    local arch old=""
    for arch in ${TORCH_CUDA_ARCH_LIST//;/ }; do
        arch="${arch%+PTX}"
        case "$arch" in [0-6].* | 7.[0-4]) old+="$arch " ;; esac
    done
    echo "${old% }"
}

choose_variant() {
    # Sets VARIANT (cpu | cuda<torch's CUDA version>), BUILD_ENV (for mmcv's setup.py),
    # TOOLKIT_PIN, KEY and WHEEL_CACHE. Probes only the venv's torch and nvcc (tests fake both).
    local probe torch_ver cuda gpus pin nvidia why="" loud=""
    probe="$(probe_torch)" || { log "cannot import torch from $VENV"; exit 1; }
    read -r torch_ver cuda gpus pin nvidia <<<"$probe"
    find_toolkit
    local major="${cuda%%.*}" nvcc_major="${NVCC_VER%%.*}"
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
    elif [ -z "$NVCC_VER" ]; then
        loud=1 why="torch is a CUDA $cuda build but there is no nvcc in $CUDA_ROOT:"
        why+=" install the CUDA $major toolkit or set CUDA_HOME"
    elif [ "$nvcc_major" != "$major" ]; then
        loud=1 why="nvcc $NVCC_VER ($CUDA_ROOT) and torch's CUDA $cuda differ in major version"
        why+=" (torch refuses)"
    elif [ "$major" -ge 13 ] && [ -n "$(old_archs)" ]; then
        log "ERROR: TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST: CUDA $cuda compiles for compute"
        log "ERROR: capability >= 7.5 only; remove $(old_archs)"
        exit 1
    else
        VARIANT="cuda$cuda"
        BUILD_ENV=(FORCE_CUDA=1 "CUDA_HOME=$CUDA_ROOT")
        if [ -n "${TORCH_CUDA_ARCH_LIST:-}" ]; then
            BUILD_ENV+=("TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST")
        fi
        if [ -n "$TOOLKIT_PIN" ]; then why="nvcc from PyPI: cuda-toolkit $TOOLKIT_PIN"; fi
    fi
    if [ "$VARIANT" = cpu ]; then TOOLKIT_PIN=""; fi
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

install_toolkit() {
    # PyPI's nvcc, nvvm and CCCL headers of the release torch pins, next to torch's own CUDA
    # libraries (cuBLAS, cuSPARSE, ... headers) in nvidia/cu<major>. The wheels ship only
    # versioned runtimes, but nvcc links -lcudart: add the unversioned name.
    local runtime
    log "installing the CUDA toolkit from PyPI: cuda-toolkit[nvcc,cccl]==$TOOLKIT_PIN"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "cuda-toolkit[nvcc,cccl]==$TOOLKIT_PIN"
    for runtime in "$CUDA_ROOT"/lib/libcudart.so.[0-9]*; do
        if [ -f "$runtime" ] && [ ! -e "$CUDA_ROOT/lib/libcudart.so" ]; then
            ln -s "$(basename "$runtime")" "$CUDA_ROOT/lib/libcudart.so"
        fi
    done
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
    if [ -n "$TOOLKIT_PIN" ]; then install_toolkit; fi
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
    printf 'variant=%s\nwheel_cache=%s\nwheel=%s\nbuild_env=%s\ntoolkit_pin=%s\n' \
        "$VARIANT" "$WHEEL_CACHE" "$(find_mmcv_wheel)" "${BUILD_ENV[*]}" "$TOOLKIT_PIN"
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
