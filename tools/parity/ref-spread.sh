#!/usr/bin/env bash
# How far the Python reference's own test F1 moves when only its dropout masks change: the
# yardstick for the parity bar (ours within 1.0 point of the reference). The reference runs in
# seconds on a GPU and in tens of minutes here, so this is built for the GPU machine:
#
#   here:  tools/parity/ref-spread.sh prepare runs/turku-parity-s2
#          (writes .parity-carry/, ignored through .git/info/exclude, under the 64 MiB a call carries)
#   there: OUT=$OUT tools/parity/ref-spread.sh run "default 1 2 3 4 5 6 7"      (carry .parity-carry)
#          ($OUT/summary.txt: each run's test F1, their mean and spread; $OUT/ref-spread.tar.gz: logs)
#
# The carried init is the parity run's init with the word-embedding rows that no word piece of
# train/val/test uses set to zero (xz then shrinks them to nothing; 90 MB does not fit a carry).
# Training sees the same numbers: such rows are never looked up, so their gradient, AdamW moments
# and update stay zero and they add nothing to the clipped gradient norm. "default" (no
# --dropout_seed) is the parity run's own setting: its F1 shows how closely the rerun reproduces
# that run (CUDA's embedding backward adds in no fixed order, so bits may differ).
# Env (run): PARALLEL (4 runs at a time on the one GPU), PYTHON (python3), EPOCHS (3); for a
# smoke test here: DEVICE=cpu DATA=<a folder of small train/val/test.csv>.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
C=$ROOT/.parity-carry

prepare() {
  local run_dir=${1:?usage: ref-spread.sh prepare RUN_DIR (holding init/)}
  local py=${NER_PYTHON:-$ROOT/.venv/bin/python}
  local turku=${TURKU_DIR:-$ROOT/../shared/data/turku-ner}
  grep -qx '/.parity-carry/' .git/info/exclude 2> /dev/null || echo '/.parity-carry/' >> .git/info/exclude
  rm -rf "$C" && mkdir -p "$C/init" "$C/data" "$C/site"
  cp "$turku"/{train,val,test}.csv "$C/data/"
  cp "$run_dir"/init/{config.json,tokenizer.json,tokenizer_config.json,vocab.txt} "$C/init/"
  # seqeval is not in the GPU machine's python; it is pure Python.
  cp -r "$("$py" -c 'import seqeval, os; print(os.path.dirname(seqeval.__file__))')" "$C/site/"
  "$py" - "$run_dir/init" "$C/data" "$C/init/model.safetensors" << 'EOF'
import ast, csv, sys
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer

init, data, dest = sys.argv[1:]
tokenizer = AutoTokenizer.from_pretrained(init)
used = set(tokenizer.all_special_ids)
for name in ("train.csv", "val.csv", "test.csv"):
    with open(f"{data}/{name}", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            words = ast.literal_eval(row["tokens"])
            used.update(tokenizer(words, is_split_into_words=True)["input_ids"])
weights = load_file(f"{init}/model.safetensors")
key = "bert.embeddings.word_embeddings.weight"
keep = torch.zeros(weights[key].shape[0], dtype=torch.bool)
keep[sorted(used)] = True
weights[key] = weights[key] * keep[:, None]
save_file(weights, dest, metadata={"format": "pt"})
print(f"[ref-spread] {len(used)} of {keep.numel()} word-embedding rows used; the rest zeroed", file=sys.stderr)
EOF
  xz -T2 -6 "$C/init/model.safetensors"
  cp tools/reference/{train_reference.py,seqeval_reference.py} "$C/"
  du -sh "$C" >&2
}

run() {
  local seeds=${1:-default 1 2 3 4 5 6 7}
  local out=${OUT:?set OUT to the folder the results go to}
  local py=${PYTHON:-python3}
  export PYTHONPATH=$C/site HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONHASHSEED=0
  local work=/tmp/ref-spread running=0
  rm -rf "$work" && mkdir -p "$work/init"
  cp "$C"/init/*.json "$C/init/vocab.txt" "$work/init/"
  xz -dc "$C/init/model.safetensors.xz" > "$work/init/model.safetensors"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$work/gpu.txt" 2>&1 || true
  for seed in $seeds; do
    (
      start=$(date +%s.%N)
      rc=0 seed_flags=()
      [ "$seed" = default ] || seed_flags=(--dropout_seed "$seed")
      "$py" "$C/train_reference.py" --data_path "${DATA:-$C/data}" --model_name_or_path "$work/init" \
        --save_model_path "$work/$seed" --max_len 128 --batch_size 16 \
        --learning_rate 5e-5 --epochs "${EPOCHS:-3}" --seed 42 --scheduler linear \
        --num_processes 2 --order ner-launch --device "${DEVICE:-cuda}" "${seed_flags[@]}" \
        > "$work/seed-$seed.log" 2>&1 || rc=$?
      echo "seed $seed: exit $rc in $(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { printf "%.1f", a - b }') s" >&2
      cp "$work/$seed/metrics.json" "$work/metrics-seed-$seed.json" 2> /dev/null || true
    ) &
    running=$((running + 1))
    if [ "$running" -ge "${PARALLEL:-4}" ]; then
      wait -n
      running=$((running - 1))
    fi
  done
  wait
  "$py" - "$work" << 'EOF' | tee "$out/summary.txt"
import glob, json, re, statistics, sys
rows = []
for path in sorted(glob.glob(f"{sys.argv[1]}/metrics-seed-*.json")):
    seed = re.search(r"seed-(\w+)\.json", path).group(1)
    test = json.load(open(path))["test"]
    val = " / ".join(f"{epoch['val_f1']:.3f}" for epoch in json.load(open(path))["history"])
    rows.append((seed, test["overall_f1"], test["without_O"]["overall_f1"], test["loss"], val))
for seed, f1, f1_wo, loss, val in rows:
    print(f"dropout seed {seed}: test F1 {f1:.4f} (without O {f1_wo:.4f}), test loss {loss:.4f}, "
          f"val F1 by epoch {val}")
if len(rows) > 1:
    f1s = [r[1] for r in rows]
    print(f"test F1 over {len(f1s)} runs: mean {statistics.mean(f1s):.4f}, sd {statistics.stdev(f1s):.4f}, "
          f"min {min(f1s):.4f}, max {max(f1s):.4f}")
EOF
  # At most 8 files come back from the GPU machine: the logs and metrics travel as one archive.
  tar -C "$work" -czf "$out/ref-spread.tar.gz" gpu.txt $(cd "$work" && ls seed-*.log metrics-seed-*.json)
}

case ${1:-} in
  prepare) prepare "${2:-}" ;;
  run) run "${2:-}" ;;
  *) echo "usage: ref-spread.sh prepare RUN_DIR | run [\"SEEDS\"]" >&2; exit 2 ;;
esac
