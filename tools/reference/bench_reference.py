"""PyTorch CPU side of `npm run bench`: forward and forward+backward tokens/s of a randomly
initialised BertForTokenClassification of a given shape, in this process (so the peak RSS is
this case's). Prints one JSON line.

    .venv/bin/python tools/reference/bench_reference.py --layers 12 --hidden 768 --heads 12 \
        --intermediate 3072 --vocab 50105 --labels 13 --batch 16 --seq 128 --mode train \
        --threads 1 --repeats 2
--threads 0 keeps torch's default thread count.
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

    # Warm-up on a small batch (allocator, kernels), then timed repeats at the full shape.
    small = (ids[:1, :16], mask[:1, :16])
    with torch.no_grad():
        model(input_ids=small[0], attention_mask=small[1])
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
        "batch": a.batch,
        "seq": a.seq,
        "seconds": times,
        "tokensPerSecond": a.batch * a.seq / best,
        "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
