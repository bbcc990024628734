"""PyTorch CPU side of `npm run bench -- batch-matmul`: seconds of torch.bmm on float32 operands
of the given shape, one thread, best of the repeats after a warm-up. Prints one JSON line.

    .venv/bin/python tools/reference/bmm_reference.py --batch 192 --m 48 --k 32 --n 48
"""
import argparse
import json
import time

import torch


def main() -> None:
    p = argparse.ArgumentParser()
    for name in ("batch", "m", "k", "n"):
        p.add_argument(f"--{name}", type=int, required=True)
    p.add_argument("--repeats", type=int, default=20)
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(a.batch, a.m, a.k)
    y = torch.randn(a.batch, a.k, a.n)
    torch.bmm(x, y)
    best = float("inf")
    for _ in range(a.repeats):
        start = time.perf_counter()
        torch.bmm(x, y)
        best = min(best, time.perf_counter() - start)
    flops = 2 * a.batch * a.m * a.k * a.n
    print(json.dumps({"seconds": best, "gflops": flops / best / 1e9, "threads": 1,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
