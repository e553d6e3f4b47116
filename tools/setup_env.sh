#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv with the pinned
# OpenMMLab stack, then install rlpkd in editable mode.
#
# mmcv 2.1.0 has no Python 3.11 wheels on PyPI, so it is built from source
# (about 18 min on 2 cores) unless a wheel is found in, in this order:
#   $RLPKD_WHEELHOUSE            a directory given by the caller (CI points it at a prebuilt copy)
#   $RLPKD_CACHE/wheels          default ~/.cache/rlpkd/wheels, filled by earlier builds
# A freshly built wheel is stored in the cache so the next run reuses it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RLPKD_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
CACHE="${RLPKD_CACHE:-$HOME/.cache/rlpkd}"
WHEEL_CACHE="$CACHE/wheels"
MMCV_VERSION=2.1.0
# Re-run the full install whenever setup.py (the pinned stack) changes.
STAMP="$VENV/.rlpkd-stack-$(sha1sum "$ROOT/setup.py" | cut -c1-12)"

log() { printf '[setup_env] %s\n' "$*" >&2; }

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

find_mmcv_wheel() {
    # First wheel found, without pipes (a `| head` would SIGPIPE under pipefail).
    local dir wheel
    for dir in "${RLPKD_WHEELHOUSE:-}" "$WHEEL_CACHE"; do
        [ -n "$dir" ] && [ -d "$dir" ] || continue
        for wheel in "$dir"/mmcv-"$MMCV_VERSION"-cp311-*.whl; do
            if [ -f "$wheel" ]; then
                echo "$wheel"
                return 0
            fi
        done
    done
}

build_mmcv_wheel() {
    # Source build with compiled CPU ops. torch 2.14 headers need C++20 but
    # mmcv 2.1.0's setup.py asks for C++17: raise that one flag.
    local work
    work="$(mktemp -d)"
    log "building mmcv $MMCV_VERSION from source (about 18 min on 2 cores)"
    "$VENV/bin/python" -m pip download --quiet --no-deps --no-binary :all: \
        -d "$work" "mmcv==$MMCV_VERSION"
    tar -xzf "$work"/mmcv-"$MMCV_VERSION".tar.gz -C "$work"
    sed -i 's/-std=c++17/-std=c++20/g' "$work/mmcv-$MMCV_VERSION/setup.py"
    mkdir -p "$WHEEL_CACHE"
    (cd "$work/mmcv-$MMCV_VERSION" &&
        MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "$VENV/bin/python" -m pip wheel --no-build-isolation --no-deps -w "$WHEEL_CACHE" .)
    rm -rf "$work"
}

if ! "$VENV/bin/python" -c 'import mmcv, mmcv.ops' >/dev/null 2>&1; then
    wheel="$(find_mmcv_wheel)"
    if [ -z "$wheel" ]; then
        build_mmcv_wheel
        wheel="$(find_mmcv_wheel)"
    elif [ "$(dirname "$wheel")" != "$WHEEL_CACHE" ]; then
        mkdir -p "$WHEEL_CACHE" && cp "$wheel" "$WHEEL_CACHE/"
    fi
    log "installing $(basename "$wheel")"
    "${PIP[@]}" --no-deps "$wheel"
fi

if [ ! -f "$STAMP" ]; then
    log "installing the OpenMMLab stack and rlpkd"
    "${PIP[@]}" -e "$ROOT[all,dev]"
    touch "$STAMP"
else
    # Cheap: refresh the editable install in case setup.py changed.
    "${PIP[@]}" --no-deps -e "$ROOT"
fi
log "ready: $VENV"
