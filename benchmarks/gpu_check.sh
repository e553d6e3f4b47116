#!/usr/bin/env bash
# RL-PyramidKD on a CUDA GPU at toy scale, per task (default: det seg cls):
#  1. the task's RL-PyramidKD toy config trains through its three phases with --amp
#     (random teacher: this checks device placement and the AMP path, not accuracy),
#     then tools/test.py evaluates it (task metric + level-selection metric);
#  2. benchmarks/rl_overhead.py compares RL-PyramidKD phase 3 with uniform KD (time, peak
#     CUDA memory), the reward lookahead one sample at a time and vectorised (32 samples).
# Results: benchmarks/results/rl_overhead_<task>_gpu.{json,md}; logs: work_dirs/gpu_check/.
# det and seg need mmcv with its CUDA ops (mmdet / mmseg import them); cls does not.
#
#   bash benchmarks/gpu_check.sh [TASK ...]        (PYTHON=python3 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WORK=work_dirs/gpu_check
mkdir -p "$WORK"
$PY -c 'import torch; assert torch.cuda.is_available(), "no CUDA device"'

declare -A DATA=([det]=toy_coco [seg]=toy_ade [cls]=toy_folder)
declare -A RL_CFG=(
  [det]=configs/faster_rcnn/rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py
  [seg]=configs/deeplabv3plus/rlpkd_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py
  [cls]=configs/resnet/rlpkd_resnet18w32-resnet18w16_toy-folder.py)

tasks=("$@")
[[ ${#tasks[@]} -gt 0 ]] || tasks=(det seg cls)
for t in "${tasks[@]}"; do
  [[ -n ${RL_CFG[$t]:-} ]] || { echo "unknown task $t (det, seg, cls)"; exit 2; }
  echo "== $t: toy data"
  $PY tools/make_toy_data.py "$t" --out "data/${DATA[$t]}" > "$WORK/$t-data.log"
  echo "== $t: RL-PyramidKD, three phases, --amp"
  $PY tools/train.py "${RL_CFG[$t]}" --amp --work-dir "$WORK/$t" \
    --cfg-options model.teacher_ckpt=None > "$WORK/$t-train.log" 2>&1 \
    || { tail -40 "$WORK/$t-train.log"; exit 1; }
  grep -E "phase '" "$WORK/$t-train.log" || true
  grep -E "Epoch\(train\)" "$WORK/$t-train.log" | tail -2 || true
  echo "== $t: tools/test.py"
  $PY tools/test.py "${RL_CFG[$t]}" "$(cat "$WORK/$t/last_checkpoint")" \
    --cfg-options model.teacher_ckpt=None \
    --work-dir "$WORK/$t-test" > "$WORK/$t-test.log" 2>&1 \
    || { tail -40 "$WORK/$t-test.log"; exit 1; }
  grep '^metrics:' "$WORK/$t-test.log"
  echo "== $t: RL overhead"
  $PY benchmarks/rl_overhead.py --task "$t" --tag "${t}_gpu" \
    --rl-variants '' 'model.selector.lookahead_chunk=32'
done
