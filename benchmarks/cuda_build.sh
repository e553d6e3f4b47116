#!/usr/bin/env bash
# How long tools/setup_env.sh takes to build mmcv's CUDA ops from PyPI alone, and what the wheel
# holds. Runs on any Linux machine, a GPU is not needed (a cross build for TORCH_CUDA_ARCH_LIST):
# a fresh venv and an empty wheel cache, so mmcv is compiled, never reused. Afterwards: the CUDA
# version mmcv.ops reports, the wheel's size and the GPU architectures of its kernels (cuobjdump,
# from PyPI's triton when no CUDA toolkit has one). Writes benchmarks/results/cuda_build.md; the
# wheel stays in the default cache ~/.cache/rlpkd/wheels/<key>/ for later installs.
#
#   bash benchmarks/cuda_build.sh ["8.0;9.0"]      (VENV: the venv to make, /tmp/rlpkd-cuda-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
ARCHS=${1:-8.0;9.0}
VENV=${VENV:-/tmp/rlpkd-cuda-venv}
OUT=benchmarks/results/cuda_build.md
[[ ! -e $VENV ]] || { echo "$VENV exists: the measurement needs a fresh venv (set VENV)"; exit 2; }
CACHE=$(mktemp -d)
LOG=$CACHE/setup_env.log
start=$SECONDS
env -u CUDA_HOME -u CUDA_PATH -u RLPKD_WHEELHOUSE RLPKD_VENV="$VENV" RLPKD_CACHE="$CACHE" \
  TORCH_CUDA_ARCH_LIST="$ARCHS" bash tools/setup_env.sh 2>&1 | tee "$LOG"
elapsed=$((SECONDS - start))
ops=$("$VENV/bin/python" -c 'from mmcv.ops import get_compiling_cuda_version as v; print(v())')
wheel=$(find "$CACHE/wheels" -name 'mmcv-*.whl' | head -n 1)
mkdir -p "$HOME/.cache/rlpkd/wheels"
cp -r "$(dirname "$wheel")" "$HOME/.cache/rlpkd/wheels/"
lib=$(find "$VENV" -path '*site-packages/mmcv/_ext*.so' | head -n 1)
cuobjdump=$(command -v cuobjdump || find "$VENV" -name cuobjdump -type f | head -n 1)
archs=$("$cuobjdump" --list-elf "$lib" | grep -o 'sm_[0-9]*' | sort | uniq -c |
        awk '{printf "%s%s x %s", sep, $1, $2; sep=", "}')
{
  echo '# mmcv CUDA ops from PyPI alone'
  echo
  echo "\`bash benchmarks/cuda_build.sh \"$ARCHS\"\` on $(nproc) cores, $(date -u '+%Y-%m-%d')."
  echo
  echo "- whole \`tools/setup_env.sh\` from an empty venv: $((elapsed / 60)) min $((elapsed % 60)) s"
  echo "- $(grep -m1 'ops variant' "$LOG" | sed 's/^\[setup_env\] //')"
  echo "- \`mmcv.ops.get_compiling_cuda_version()\`: $ops"
  echo "- wheel: $(basename "$(dirname "$wheel")")/$(basename "$wheel"), $(du -m "$wheel" | cut -f1) MB"
  echo "- kernels (cuobjdump --list-elf): $archs"
} > "$OUT"
cat "$OUT"
