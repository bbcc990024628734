"""The HF PyTorch side of the CUDA engine's parity check (tools/cuda/check.sh): a seeded
BertForTokenClassification with dropout off, one batch, and what the engine must reproduce on the
same GPU in fp32 with TF32 off: eval logits, the training loss (mean over labelled tokens, as HF),
every parameter's gradient, and the parameters after one torch.optim.AdamW step (decay / no-decay
groups) taken from those gradients.

    python3 tools/cuda/torch_reference.py --out DIR [--tiny] [--device cuda] [--batch 4 --seq 128]

Writes DIR/model.safetensors, grads.safetensors, after_adamw.safetensors, logits.f32 (raw
little-endian), ids.i32, mask.i32, labels.i32 and meta.json.
"""
import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertForTokenClassification

from hf_weights import BASE, TINY


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    dims = dict(TINY if args.tiny else BASE)
    config = BertConfig(**dims, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(args.seed)
    model = BertForTokenClassification(config)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "model.safetensors"),
              metadata={"format": "pt"})
    model = model.to(args.device).train()

    b, t = args.batch, args.seq
    gen = torch.Generator().manual_seed(args.seed + 1)
    ids = torch.randint(5, config.vocab_size, (b, t), generator=gen)
    mask = torch.ones(b, t, dtype=torch.long)
    mask[-1, int(t * 0.6):] = 0
    ids[mask == 0] = 0
    labels = torch.randint(0, config.num_labels, (b, t), generator=gen)
    labels[mask == 0] = -100
    labels[:, 0] = -100
    for name, tensor in (("ids", ids), ("mask", mask), ("labels", labels)):
        tensor.to(torch.int32).numpy().tofile(out / f"{name}.i32")

    dev = lambda x: x.to(args.device)
    with torch.no_grad():
        model.eval()
        logits = model(input_ids=dev(ids), attention_mask=dev(mask)).logits
        model.train()
    logits.float().cpu().numpy().tofile(out / "logits.f32")
    loss = model(input_ids=dev(ids), attention_mask=dev(mask), labels=dev(labels)).loss
    loss.backward()
    save_file({n: p.grad.detach().float().cpu().contiguous() for n, p in model.named_parameters()},
              str(out / "grads.safetensors"), metadata={"format": "pt"})

    no_decay = [n for n, _ in model.named_parameters() if n.endswith(".bias") or "LayerNorm" in n]
    decay = [n for n, _ in model.named_parameters() if n not in no_decay]
    params = dict(model.named_parameters())
    lr, betas, eps, weight_decay = 1e-3, (0.9, 0.999), 1e-8, 0.01
    opt = torch.optim.AdamW([{"params": [params[n] for n in decay], "weight_decay": weight_decay},
                             {"params": [params[n] for n in no_decay], "weight_decay": 0.0}],
                            lr=lr, betas=betas, eps=eps, foreach=False)
    opt.step()
    save_file({n: p.detach().float().cpu().contiguous() for n, p in model.named_parameters()},
              str(out / "after_adamw.safetensors"), metadata={"format": "pt"})

    meta = {
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
        "torch": torch.__version__, "batchSize": b, "seqLen": t, "loss": loss.item(),
        "config": {k: getattr(config, k) for k in (
            "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
            "max_position_embeddings", "type_vocab_size", "num_labels", "layer_norm_eps", "hidden_act")},
        "lr": lr, "betas": betas, "eps": eps, "weightDecay": weight_decay,
        "groups": [decay, no_decay],
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
