#!/usr/bin/env bash
# Our inference on the reference's trained model: separates "does our trainer learn as well"
# from "do we evaluate the same way". tools/reference/train_reference.py saves its best model
# (HF format) and the test words it scored (test_gold.csv: words that kept a sub-token after
# truncation, gold tags; test_predictions.csv: torch's tags for them). Here `ner-launch predict`
# tags the same words with the same model and `ner-launch score` scores them, so the reference's
# test F1 should come out again, and our tags should agree with torch's word for word (a near-tie
# in the logits may flip one; float32 arithmetic differs between wasm and torch).
#
# Usage: tools/parity/eval-parity.sh REF_DIR [OUT_DIR]   (default OUT_DIR: REF_DIR/../eval-parity)
#        e.g. tools/parity/eval-parity.sh runs/turku-parity-<time>/ref
# Env:   BACKEND (wasm), NICE (0).
# Prints both F1s and the tag agreement; writes ours-predictions.csv, ours-scores.json and
# agreement.json (score --json of our tags against torch's: overall_accuracy = agreement).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[[ $# -ge 1 ]] || { echo "usage: tools/parity/eval-parity.sh REF_DIR [OUT_DIR]" >&2; exit 2; }
REF=$(realpath -m "$1")
OUT=$(realpath -m "${2:-$REF/../eval-parity}")
cd "$ROOT"
for f in config.json metrics.json test_gold.csv test_predictions.csv; do
  [[ -f $REF/$f ]] || {
    echo "eval-parity: $REF/$f not found (a train_reference.py save_model_path is expected)" >&2
    exit 2
  }
done
mkdir -p "$OUT"

echo "== ours: ner-launch predict with $REF on its scored test words"
nice -n "${NICE:-0}" npx ner-launch predict --model "$REF" --input "$REF/test_gold.csv" \
  --format csv --max_len 512 --backend "${BACKEND:-wasm}" --output "$OUT/ours-predictions.csv"
npx ner-launch score --gold "$REF/test_gold.csv" --pred "$OUT/ours-predictions.csv" --json \
  > "$OUT/ours-scores.json"
npx ner-launch score --gold "$REF/test_predictions.csv" --pred "$OUT/ours-predictions.csv" \
  --json > "$OUT/agreement.json"

node --input-type=module - "$REF/metrics.json" "$OUT/ours-scores.json" "$OUT/agreement.json" \
  << 'EOF' | tee "$OUT/eval-parity.txt"
import { readFileSync } from 'node:fs';
const [refPath, oursPath, agreementPath] = process.argv.slice(2);
const read = (p) => JSON.parse(readFileSync(p, 'utf8'));
const ref = read(refPath).test;
const ours = read(oursPath);
const agreement = read(agreementPath);
const row = (name, a, b) =>
  `${name.padEnd(22)} torch ${a.toFixed(4)}  ner-launch ${b.toFixed(4)}  diff ${(b - a).toFixed(4)}`;
console.log('the reference model on its scored test words:');
console.log(row('entity F1', ref.overall_f1, ours.overall_f1));
console.log(row('entity F1 without O', ref.without_O.overall_f1, ours.without_O.overall_f1));
console.log(row('precision', ref.overall_precision, ours.overall_precision));
console.log(row('recall', ref.overall_recall, ours.overall_recall));
console.log(row('token accuracy', ref.overall_accuracy, ours.overall_accuracy));
console.log(`tags equal to torch's: ${(100 * agreement.overall_accuracy).toFixed(3)} % of words`);
EOF
