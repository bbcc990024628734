"""Prints the GPU check's verdicts from gpu-check.json and torch.json: parity, kernels, and our
tokens/s over PyTorch's per shape and mode. Writes summary.md next to the inputs.

    python3 tools/gpu/summarize.py OUT_DIR
"""

import json
import sys
from pathlib import Path


def main() -> None:
    out = Path(sys.argv[1])
    runs = {p.parent.name: json.loads(p.read_text()) for p in sorted(out.glob("*/gpu-check.json"))}
    ours = runs.get("kernels", {})
    torch_path = out / "torch.json"
    try:
        theirs = json.loads(torch_path.read_text())
    except (OSError, ValueError):
        theirs = {"results": [], "device": "? (torch.json missing or empty: see torch.log)"}
    lines = [f"# GPU check ({theirs.get('device', '?')}, backend {ours.get('backend')}, {ours.get('date')})", ""]
    if not runs:
        lines.append("- no gpu-check.json found (see the .log files)")
    parity = ours.get("parity")
    if parity:
        lines.append(f"- parity vs {parity['against']}: logits max abs {parity['logitsMaxAbs']:.3g} "
                     f"({'PASS' if parity['logitsPass'] else 'FAIL'} at 1e-3); worst gradient "
                     f"{parity['worstGradient']['name']} rel {parity['worstGradient']['relativeError']:.3g} "
                     f"({'PASS' if parity['gradientsPass'] else 'FAIL'})")
    for k in ours.get("kernelChecks", []):
        errs = ", ".join(f"{n} {'NaN' if e is None else format(e, '.2g')}" for n, e in k["errors"].items())
        lines.append(f"- kernel {k['kernel']} {k['shape']}: {'PASS' if k['pass'] else 'FAIL'} ({errs})"
                     + (f" validation: {k['validationError']}" if k.get("validationError") else "")
                     + (f" ERROR {k['error'][:200]}" if k.get("error") else ""))
    for k in ours.get("kernelBench", []):
        lines.append(f"- kernel {k['kernel']} {k['shape']}: {k['ms']:.3f} ms, {k['rate']:.2f} {k['unit']}"
                     + (f" ERROR {k['error'][:200]}" if k.get("error") else ""))
    lines += ["", "| ours (run) | shape | ours step ms (fwd+bwd ms) | ours tokens/s | torch mode | torch tokens/s | ours / torch |",
              "|---|---|---|---|---|---|---|"]
    for name, run in runs.items():
        for ourrun in run.get("throughput", []):
            for r in theirs["results"]:
                if r["shape"] == ourrun["shape"]:
                    ratio = ourrun["tokensPerSecond"] / r["tokens_per_second"]
                    lines.append(f"| {name} | {r['shape']} | {ourrun['stepMs']:.1f} ({ourrun['fwdBwdMs']:.1f}) | "
                                 f"{ourrun['tokensPerSecond']:.0f} | {r['mode']} | {r['tokens_per_second']:.0f} | {ratio:.3f} |")
    text = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
