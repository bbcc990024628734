"""PyTorch CPU side of `npm run bench`: forward and forward+backward tokens/s of a randomly
initialised BertForTokenClassification of a given shape, in this process (so the peak RSS is
this case's). Prints one JSON line.

    .venv/bin/python tools/reference/bench_reference.py --layers 12 --hidden 768 --heads 12 \
        --intermediate 3072 --vocab 50105 --labels 13 --batch 16 --seq 128 --mode train \
        --threads 1 --repeats 2
--threads 0 keeps torch's default thread count.
--optimizer adamw adds an AdamW step to each training step (a full step, as bench/memory-step.ts
times on wasm); --warmup full runs one untimed step at the full shape instead of one small
forward pass, so allocator growth and optimizer state are not in the timed steps.
"""
import argparse
import json
import resource
import time

import torch
from transformers import BertConfig, BertForTokenClassification


def main() -> None:
    p = argparse.ArgumentParser()
    for name, default in [("layers", 12), ("hidden", 768), ("heads", 12), ("intermediate", 3072),
                          ("vocab", 50105), ("labels", 13), ("batch", 16), ("seq", 128),
                          ("threads", 0), ("repeats", 2)]:
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--mode", choices=["forward", "train"], default="forward")
    p.add_argument("--optimizer", choices=["none", "adamw"], default="none")
    p.add_argument("--warmup", choices=["small", "full"], default="small")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=a.vocab, hidden_size=a.hidden, num_hidden_layers=a.layers,
                        num_attention_heads=a.heads, intermediate_size=a.intermediate,
                        max_position_embeddings=max(512, a.seq), num_labels=a.labels)
    model = BertForTokenClassification(config)
    ids = torch.randint(5, a.vocab, (a.batch, a.seq))
    mask = torch.ones_like(ids)
    labels = torch.randint(0, a.labels, (a.batch, a.seq))
    # Same hyper-parameters as the wasm side's AdamW (bench/memory-step.ts).
    optimizer = (torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01)
                 if a.optimizer == "adamw" else None)

    def once() -> None:
        if a.mode == "forward":
            model.eval()
            with torch.no_grad():
                model(input_ids=ids, attention_mask=mask)
        else:
            model.train()
            model.zero_grad(set_to_none=True)
            out = model(input_ids=ids, attention_mask=mask, labels=labels)
            out.loss.backward()
            if optimizer is not None:
                optimizer.step()

    # Warm-up (allocator, kernels), then timed repeats at the full shape.
    if a.warmup == "full":
        once()
    else:
        with torch.no_grad():
            model(input_ids=ids[:1, :16], attention_mask=mask[:1, :16])
    times = []
    for _ in range(a.repeats):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    best = min(times)
    print(json.dumps({
        "framework": f"torch {torch.__version__} CPU",
        "threads": torch.get_num_threads(),
        "mode": a.mode,
        "optimizer": a.optimizer,
        "warmup": a.warmup,
        "batch": a.batch,
        "seq": a.seq,
        "seconds": times,
        "tokensPerSecond": a.batch * a.seq / best,
        "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
