#!/usr/bin/env bash
# shellcheck disable=SC2016  # backquotes in single quotes: Markdown code, not expansions
# rlpkd on one CUDA GPU, in one run (sized for <= 8 minutes on an H100, not yet timed), per
# task (default: det seg cls ins; ins = Mask R-CNN, on the detection toy data):
#  a. header: python, torch, CUDA and mmcv's compiled CUDA version; stops when det, seg or
#     ins are asked for and mmcv has no CUDA ops (mmdet / mmseg need them; cls does not);
#  b. the task's toy RL-PyramidKD config, each phase 1 epoch of small toy data (random
#     teacher: this checks device placement and the AMP path, not accuracy), through
#     tools/train.py --amp, then tools/test.py (task metric + level-selection metric);
#  c. (det) benchmarks/full_size_step.py --amp: the full-size Faster R-CNN R101 -> R50 FPN
#     step, 1333x800, batch 2, RL policy-learning phase
#     -> benchmarks/results/full_size_step_gpu.{json,md};
#  d. (cls) tools/dist_train.sh with 1 GPU (DDP, NCCL) on the cls toy RL config, 1 epoch a phase;
#  e. (det seg cls) benchmarks/rl_overhead.py, 1 epoch x 1 run of uniform KD and each RL
#     phase -> benchmarks/results/rl_overhead_gpu_<task>.{json,md}.
# A failing step is recorded and the others still run (a test after a failed training is
# skipped); the script exits 1 if any step failed. Each step prints its wall time; its log
# is work_dirs/gpu_check/<step>.log (the toy data: work_dirs/gpu_check/data/, not data/);
# the summary, one line per step: benchmarks/results/gpu_check.md.
#
#   bash benchmarks/gpu_check.sh [TASK ...]
#   (PYTHON: default .venv/bin/python, else python3; STEP_TIMEOUT: seconds a step, 300)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
if [[ -n ${PYTHON:-} ]]; then PY=$PYTHON
elif [[ -x .venv/bin/python ]]; then PY=.venv/bin/python
else PY=python3; fi
STEP_TIMEOUT=${STEP_TIMEOUT:-300}
WORK=work_dirs/gpu_check
DATA=$WORK/data
REPORT=benchmarks/results/gpu_check.md
mkdir -p "$WORK" "$(dirname "$REPORT")"

# the size of a task's toy data (tools/make_toy_data.py det / seg / cls): training images
# for > 5 iterations an epoch (rl_overhead.py times those after the 5th) at the configs'
# batches (det 8, seg 16, cls 32), and validation images
declare -A DATA_SIZE=([det]='--num-train 96 --num-val 16' [seg]='--num-train 160 --num-val 16'
                      [cls]='--num-train 320 --num-val 16')
SHORT=(train_cfg.phases.0.epochs=1 train_cfg.phases.1.epochs=1 train_cfg.phases.2.epochs=1
       train_cfg.val_interval=3 model.teacher_ckpt=None)

tasks=("$@")
[[ ${#tasks[@]} -gt 0 ]] || tasks=(det seg cls ins)
for t in "${tasks[@]}"; do
  [[ " det seg cls ins " == *" $t "* ]] || { echo "unknown task $t (det, seg, cls, ins)"; exit 2; }
done
wants() { [[ " ${tasks[*]} " == *" $1 "* ]]; }

ROWS=()
FAILED=0
HEADER=''
write_report() {  # write_report [NOTE]: the summary file, one line per step so far
  {
    echo '# GPU check'
    echo
    echo "\`bash benchmarks/gpu_check.sh ${tasks[*]}\`, $(date -u '+%Y-%m-%d %H:%M UTC'); toy"
    echo 'scale except full_size_step (full size); logs in `work_dirs/gpu_check/`.'
    echo
    # shellcheck disable=SC2001  # every line indented
    sed 's/^/    /' <<<"$HEADER"
    echo
    [[ -z ${1:-} ]] || { echo "**$1**"; echo; }
    echo '| step | result | seconds | log |'
    echo '|---|---|---|---|'
    printf '%s\n' "${ROWS[@]}"
  } > "$REPORT"
}

# step NAME COMMAND...: run COMMAND (at most STEP_TIMEOUT s, log WORK/NAME.log), print and
# record its result and wall time; returns COMMAND's success
step() {
  local name=$1 log="$WORK/$1.log" start=$SECONDS status=ok
  shift
  echo "== $name: $*"
  if ! timeout "$STEP_TIMEOUT" "$@" > "$log" 2>&1; then
    status=failed
    FAILED=$((FAILED + 1))
    tail -25 "$log"
  fi
  echo "   $name: $status in $((SECONDS - start)) s"
  ROWS+=("| $name | $status | $((SECONDS - start)) | \`$log\` |")
  [[ $status == ok ]]
}

skip() {  # skip NAME REASON
  echo "== $1: skipped ($2)"
  ROWS+=("| $1 | skipped: $2 | - | - |")
}

# ---------------------------------------------------------------- a. header
HEADER=$("$PY" - <<'EOF'
import sys

import torch

print(f'python {sys.version.split()[0]}, torch {torch.__version__} (CUDA {torch.version.cuda})')
print('device: ' + (torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'))
try:
    from mmcv.ops import get_compiling_cuda_version
    ops = get_compiling_cuda_version()
except Exception as err:  # no mmcv, or mmcv without its compiled ops
    ops = f'not available ({type(err).__name__}: {err})'
print(f'mmcv ops compiled with CUDA: {ops}')
EOF
) || { echo "$PY cannot import torch"; exit 1; }
echo "$HEADER"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
if grep -q '^device: none' <<<"$HEADER"; then
  write_report 'Stopped: torch sees no CUDA device.'
  echo 'no CUDA device: stopped'; exit 1
fi
if { wants det || wants seg || wants ins; } \
    && ! grep -Eq '^mmcv ops compiled with CUDA: [0-9]' <<<"$HEADER"; then
  msg='mmcv has no CUDA ops (det, seg and ins need them): build it on this machine with'
  msg+=' `TORCH_CUDA_ARCH_LIST=9.0 bash tools/setup_env.sh` (9.0: H100 / H200;'
  msg+=' docs/install.md), or run `bash benchmarks/gpu_check.sh cls`.'
  write_report "Stopped: $msg"
  echo "$msg"; exit 1
fi

# ---------------------------------------------------------------- toy data
# per task (rlpkd.benchmarking.plan.TOY_TASKS, as tools/benchmark.py): its toy RL config, the
# toy data it reads (ins: det's) and the --cfg-options pointing the config at that data
declare -A RL_CFG=() DATA_OF=() DATA_OPTS=()
while read -r t cfg kind opts; do
  RL_CFG[$t]=$cfg DATA_OF[$t]=$kind DATA_OPTS[$t]=$opts
done < <("$PY" - "$DATA" "${tasks[@]}" <<'EOF'
import sys
from pathlib import Path

from rlpkd.benchmarking.plan import CONFIGS, TOY_TASKS

for task in sys.argv[2:]:
    setup = TOY_TASKS[task]
    data = Path(sys.argv[1]) / setup.data_cmd
    print(task, (CONFIGS / setup.rl).relative_to(CONFIGS.parent), setup.data_cmd,
          *setup.data_options(data, learned=True))
EOF
)
[[ ${#RL_CFG[@]} -eq ${#tasks[@]} ]] || { echo 'rlpkd.benchmarking.plan failed'; exit 1; }
declare -A MADE=()
for t in "${tasks[@]}"; do
  kind=${DATA_OF[$t]}
  [[ -n ${MADE[$kind]:-} ]] && continue
  MADE[$kind]=1
  # shellcheck disable=SC2086  # DATA_SIZE holds several words
  step "data-$kind" "$PY" tools/make_toy_data.py "$kind" --out "$DATA/$kind" ${DATA_SIZE[$kind]}
done

# ---------------------------------------------------------------- b. train --amp, test
for t in "${tasks[@]}"; do
  read -ra data_opts <<<"${DATA_OPTS[$t]:-}"
  if step "$t-train" "$PY" tools/train.py "${RL_CFG[$t]}" --amp --work-dir "$WORK/$t" \
      --cfg-options "${SHORT[@]}" "${data_opts[@]}"; then
    grep -E "phase '" "$WORK/$t-train.log" || true
    step "$t-test" "$PY" tools/test.py "${RL_CFG[$t]}" "$(cat "$WORK/$t/last_checkpoint")" \
      --work-dir "$WORK/$t-test" --cfg-options model.teacher_ckpt=None "${data_opts[@]}" \
      && grep '^metrics:' "$WORK/$t-test.log"
  else
    skip "$t-test" "$t-train failed"
  fi
done

# ---------------------------------------------------------------- c. full-size step
if wants det; then
  step full_size_step "$PY" benchmarks/full_size_step.py --amp \
    --out benchmarks/results/full_size_step_gpu && cat benchmarks/results/full_size_step_gpu.md
fi

# ---------------------------------------------------------------- d. DDP, 1 GPU
if wants cls; then
  read -ra data_opts <<<"${DATA_OPTS[cls]:-}"
  step cls-dist_train env PYTHON="$PY" bash tools/dist_train.sh "${RL_CFG[cls]}" 1 \
    --work-dir "$WORK/cls-dist" --cfg-options "${SHORT[@]}" "${data_opts[@]}"
fi

# ---------------------------------------------------------------- e. RL overhead
for t in det seg cls; do
  wants "$t" || continue
  step "$t-rl_overhead" "$PY" benchmarks/rl_overhead.py --task "$t" --tag "gpu_${t}" \
    --epochs 1 --repeats 1 --data "$DATA/${DATA_OF[$t]}" \
    && cat "benchmarks/results/rl_overhead_gpu_${t}.md"
done

write_report "$([[ $FAILED -eq 0 ]] && echo 'Every step passed.' || echo "$FAILED step(s) failed.")"
echo "summary: $REPORT ($FAILED failed)"
[[ $FAILED -eq 0 ]]
