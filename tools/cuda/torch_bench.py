"""HF PyTorch BertForTokenClassification training-step throughput, the yardstick of the GPU check.

Same shape as tools/cuda/gpu-check.ts: bert-base with FinBERT's vocabulary (50105), 13 labels,
AdamW (lr 2e-5, weight decay 0.01), batch BxT of random ids with the last sentence padded.
Modes: fp32 (TF32 off), tf32 (TF32 matmuls), bf16 (autocast to bfloat16). Prints one JSON
document: {"device": ..., "results": [{"mode", "shape", "step_ms", "tokens_per_second"}]}.

    python3 tools/cuda/torch_bench.py --shapes 16x128,16x512 --steps 10 [--tiny] [--device cpu]
"""

import argparse
import json
import time

import torch
from transformers import BertConfig, BertForTokenClassification


def build_config(tiny: bool) -> BertConfig:
    if tiny:
        return BertConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                          intermediate_size=128, max_position_embeddings=512, num_labels=13)
    return BertConfig(vocab_size=50105, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                      intermediate_size=3072, max_position_embeddings=512, num_labels=13)


def make_batch(b: int, t: int, vocab: int, device: str):
    gen = torch.Generator().manual_seed(12345)
    ids = torch.randint(5, vocab, (b, t), generator=gen)
    mask = torch.ones(b, t, dtype=torch.long)
    mask[-1, int(t * 0.6):] = 0
    ids[mask == 0] = 0
    labels = torch.randint(0, 13, (b, t), generator=gen)
    labels[mask == 0] = -100
    labels[:, 0] = -100
    return ids.to(device), mask.to(device), labels.to(device)


def bench(mode: str, b: int, t: int, steps: int, warmup: int, tiny: bool, device: str) -> dict:
    torch.manual_seed(1)
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
        torch.backends.cudnn.allow_tf32 = mode == "tf32"
    model = BertForTokenClassification(build_config(tiny)).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01)
    ids, mask, labels = make_batch(b, t, model.config.vocab_size, device)

    def step():
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=mode == "bf16"):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) / steps * 1000
    return {"mode": mode, "shape": f"{b}x{t}", "step_ms": ms, "tokens_per_second": b * t / (ms / 1000)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default="16x128,16x512")
    ap.add_argument("--modes", default="fp32,tf32,bf16")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    results = []
    for shape in args.shapes.split(","):
        b, t = (int(x) for x in shape.split("x"))
        for mode in args.modes.split(","):
            results.append(bench(mode, b, t, args.steps, args.warmup, args.tiny, args.device))
    name = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    print(json.dumps({"device": name, "torch": torch.__version__, "results": results}, indent=2))


if __name__ == "__main__":
    main()
