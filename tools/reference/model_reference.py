"""Reference side of the model parity tests (HF transformers + torch CPU, eager attention).

Commands (each prints one JSON object on stdout; tensors go to --out as raw float32
little-endian files, or safetensors for whole state dicts):
  classifier  wrap a pretrained BERT as BertForTokenClassification with a seeded classifier
              and save it (save_pretrained, safetensors)
  random      a randomly initialised BertForTokenClassification of a given shape, saved
  forward     eval-mode logits and every hidden state for tokenised Turku sentences or
              random ids
  train-step  one AdamW step (dropout off, grad-norm clipping) on a labelled batch
  minilm      classifier + forward + train-step in one process (the tests' fixture)
  base        random + forward on random ids in one process
"""

import argparse
import ast
import csv
import json
import os
import shutil
import sys

import torch

LABELS = ["O"] + [f"{p}-{t}" for t in ["PER", "ORG", "LOC", "PRO", "EVENT", "DATE"] for p in "BI"]


def label_kwargs(n):
    names = LABELS[:n] if n <= len(LABELS) else [f"LABEL_{i}" for i in range(n)]
    return {
        "num_labels": n,
        "id2label": dict(enumerate(names)),
        "label2id": {name: i for i, name in enumerate(names)},
    }


def write_f32(path, tensor):
    tensor.detach().to(torch.float32).contiguous().numpy().astype("<f4").tofile(path)


def load_model(path):
    from transformers import BertForTokenClassification

    model = BertForTokenClassification.from_pretrained(path, attn_implementation="eager")
    model.eval()
    return model


def read_sentences(csv_path, n, offset=0):
    rows = []
    with open(csv_path, newline="", encoding="utf-8") as handle:
        for i, row in enumerate(csv.DictReader(handle)):
            if i < offset:
                continue
            if len(rows) == n:
                break
            rows.append((ast.literal_eval(row["tokens"]), ast.literal_eval(row["tags"])))
    return rows


def tokenize_batches(tokenizer_dir, sentences, batch_size, max_len):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    batches = []
    for start in range(0, len(sentences), batch_size):
        words = [s[0] for s in sentences[start : start + batch_size]]
        enc = tokenizer(
            words,
            is_split_into_words=True,
            truncation=True,
            max_length=max_len,
            padding="longest",
            return_tensors="pt",
        )
        word_ids = [enc.word_ids(i) for i in range(len(words))]
        batches.append((enc, word_ids))
    unk = tokenizer.unk_token_id
    total = sum(int(enc["attention_mask"].sum()) for enc, _ in batches)
    unks = sum(int((enc["input_ids"] == unk).sum()) for enc, _ in batches)
    if unks > total // 4:
        sys.exit(f"tokenizer at {tokenizer_dir} produced {unks}/{total} [UNK]s; wrong vocab?")
    return batches


def cmd_classifier(args):
    from transformers import AutoTokenizer, BertForTokenClassification

    torch.manual_seed(args.seed)
    model = BertForTokenClassification.from_pretrained(args.src, **label_kwargs(args.labels))
    model.save_pretrained(args.out, safe_serialization=True)
    AutoTokenizer.from_pretrained(args.src).save_pretrained(args.out)
    if os.path.exists(os.path.join(args.src, "vocab.txt")):
        shutil.copy(os.path.join(args.src, "vocab.txt"), args.out)
    return {"parameters": sum(p.numel() for p in model.parameters())}


def cmd_random(args):
    from transformers import BertConfig, BertForTokenClassification

    config = BertConfig(
        vocab_size=args.vocab,
        hidden_size=args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        intermediate_size=args.intermediate,
        hidden_act=args.act,
        **label_kwargs(args.labels),
    )
    torch.manual_seed(args.seed)
    model = BertForTokenClassification(config)
    model.save_pretrained(args.out, safe_serialization=True)
    return {"parameters": sum(p.numel() for p in model.parameters())}


def forward_inputs(args):
    if args.random_ids:
        batch, length = (int(x) for x in args.random_ids.split(","))
        gen = torch.Generator().manual_seed(args.seed)
        vocab = load_config(args.model)["vocab_size"]
        ids = torch.randint(0, vocab, (batch, length), generator=gen)
        mask = torch.ones(batch, length, dtype=torch.long)
        # Pad the tail of every other row so the padding mask is exercised.
        for row in range(1, batch, 2):
            cut = max(1, length - 3 * row)
            mask[row, cut:] = 0
            ids[row, cut:] = 0
        types = torch.zeros(batch, length, dtype=torch.long)
        types[:, length // 2 :] = 1
        return [{"input_ids": ids, "attention_mask": mask, "token_type_ids": types}]
    sentences = read_sentences(args.csv, args.n)
    return [enc for enc, _ in tokenize_batches(args.model, sentences, args.batch, args.max_len)]


def load_config(path):
    with open(os.path.join(path, "config.json"), encoding="utf-8") as handle:
        return json.load(handle)


def cmd_forward(args):
    model = load_model(args.model)
    batches = []
    with torch.no_grad():
        for k, enc in enumerate(forward_inputs(args)):
            out = model(
                input_ids=enc["input_ids"],
                attention_mask=enc["attention_mask"],
                token_type_ids=enc["token_type_ids"],
                output_hidden_states=True,
            )
            write_f32(os.path.join(args.out, f"logits_{k}.f32"), out.logits)
            for layer, hidden in enumerate(out.hidden_states):
                write_f32(os.path.join(args.out, f"hidden_{k}_{layer}.f32"), hidden)
            batches.append(
                {
                    "input_ids": enc["input_ids"].tolist(),
                    "attention_mask": enc["attention_mask"].tolist(),
                    "token_type_ids": enc["token_type_ids"].tolist(),
                    "hidden_states": len(out.hidden_states),
                }
            )
    return {"batches": batches}


def cmd_train_step(args):
    from safetensors.torch import save_file

    model = load_model(args.model)  # eval(): dropout off, gradients still flow
    num_labels = model.config.num_labels
    sentences = read_sentences(args.csv, args.n)
    [(enc, word_ids)] = tokenize_batches(args.model, sentences, len(sentences), args.max_len)
    gen = torch.Generator().manual_seed(args.seed)
    labels = torch.full_like(enc["input_ids"], -100)
    for row, ids in enumerate(word_ids):
        previous = None
        for col, word in enumerate(ids):
            if word is not None and word != previous:  # first sub-token of each word
                labels[row, col] = int(torch.randint(0, num_labels, (1,), generator=gen))
            previous = word
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd)
    out = model(
        input_ids=enc["input_ids"],
        attention_mask=enc["attention_mask"],
        token_type_ids=enc["token_type_ids"],
        labels=labels,
    )
    out.loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
    optimizer.step()
    save_file(
        {name: p.detach().contiguous() for name, p in model.named_parameters()},
        os.path.join(args.out, "after.safetensors"),
    )
    return {
        "input_ids": enc["input_ids"].tolist(),
        "attention_mask": enc["attention_mask"].tolist(),
        "token_type_ids": enc["token_type_ids"].tolist(),
        "labels": labels.tolist(),
        "loss": float(out.loss),
        "grad_norm": float(grad_norm),
    }


def cmd_adamw(args):
    """torch.optim.AdamW + clip_grad_norm_ on small tensors given as JSON on stdin:
    {"params": {name: [..]}, "groups": [{"params": [names], "lr", "weight_decay"}],
     "grads": [{name: [..]}, ...] (one per step), "clip": max_norm or null, "eps", "betas"}."""
    spec = json.load(sys.stdin)
    params = {name: torch.tensor(v, dtype=torch.float32, requires_grad=True) for name, v in spec["params"].items()}
    groups = [
        {"params": [params[n] for n in g["params"]], "lr": g["lr"], "weight_decay": g["weight_decay"]}
        for g in spec["groups"]
    ]
    optimizer = torch.optim.AdamW(groups, eps=spec.get("eps", 1e-8), betas=tuple(spec.get("betas", (0.9, 0.999))))
    norms = []
    for grads in spec["grads"]:
        for name, p in params.items():
            p.grad = torch.tensor(grads[name], dtype=torch.float32) if name in grads else None
        if spec.get("clip") is not None:
            with_grad = [p for p in params.values() if p.grad is not None]
            norms.append(float(torch.nn.utils.clip_grad_norm_(with_grad, spec["clip"])))
        optimizer.step()
    return {"params": {n: p.detach().tolist() for n, p in params.items()}, "norms": norms}


def sub_args(args, **changes):
    merged = argparse.Namespace(**vars(args))
    for key, value in changes.items():
        setattr(merged, key, value)
    os.makedirs(merged.out, exist_ok=True)
    return merged


def cmd_minilm(args):
    """Writes <out>/model (checkpoint), <out>/forward and <out>/train-step."""
    model_dir = os.path.join(args.out, "model")
    built = cmd_classifier(sub_args(args, out=model_dir, labels=13))
    forward = cmd_forward(sub_args(args, model=model_dir, out=os.path.join(args.out, "forward"), random_ids=None))
    step = cmd_train_step(
        sub_args(args, model=model_dir, out=os.path.join(args.out, "train-step"), n=args.train_n)
    )
    return {"classifier": built, "forward": forward, "train_step": step}


def cmd_base(args):
    """Writes <out>/model (random checkpoint) and <out>/forward (random ids)."""
    model_dir = os.path.join(args.out, "model")
    built = cmd_random(sub_args(args, out=model_dir))
    forward = cmd_forward(sub_args(args, model=model_dir, out=os.path.join(args.out, "forward")))
    return {"random": built, "forward": forward}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("classifier")
    p.add_argument("--src", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--labels", type=int, default=13)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("random")
    p.add_argument("--out", required=True)
    p.add_argument("--vocab", type=int, default=50105)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--intermediate", type=int, default=3072)
    p.add_argument("--act", default="gelu")
    p.add_argument("--labels", type=int, default=13)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("forward")
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--csv")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--batch", type=int, default=25)
    p.add_argument("--max-len", type=int, default=128)
    p.add_argument("--random-ids", help="B,T: random ids instead of sentences")
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("train-step")
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--max-len", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--wd", type=float, default=0.01)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    sub.add_parser("adamw")
    p = sub.add_parser("minilm")
    p.add_argument("--src", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--batch", type=int, default=25)
    p.add_argument("--train-n", type=int, default=8)
    p.add_argument("--max-len", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--wd", type=float, default=0.01)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("base")
    p.add_argument("--out", required=True)
    p.add_argument("--vocab", type=int, default=50105)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--intermediate", type=int, default=3072)
    p.add_argument("--act", default="gelu")
    p.add_argument("--labels", type=int, default=13)
    p.add_argument("--random-ids", default="2,24")
    p.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    commands = {
        "classifier": cmd_classifier,
        "random": cmd_random,
        "forward": cmd_forward,
        "train-step": cmd_train_step,
        "adamw": cmd_adamw,
        "minilm": cmd_minilm,
        "base": cmd_base,
    }
    json.dump(commands[args.command](args), sys.stdout)


if __name__ == "__main__":
    main()
