"""Reference side of the checkpoint tests (HF transformers + torch CPU): writes checkpoints in
the formats Python produces (torch.save zip/legacy, sharded safetensors, BertForPreTraining,
BertForTokenClassification save_pretrained) and inspects directories ours wrote by loading
them the way users will (AutoModelForTokenClassification / AutoTokenizer.from_pretrained).

Tensors are compared by SHA-256 of their float32 little-endian bytes (bit identity).
Prints one JSON object on stdout.
"""

import argparse
import hashlib
import json
import os
import sys

import torch
from safetensors.torch import load_file


SAMPLE_TEXT = "Nokia's CEO visited Helsinki-Vantaa airport on 3 March, unbelievably!"


def digest(tensor):
    array = tensor.detach().to(torch.float32).contiguous().cpu().numpy()
    return hashlib.sha256(array.astype("<f4").tobytes()).hexdigest()


def digests(state_dict):
    return {name: digest(t) for name, t in state_dict.items()}


TORCH_SAVE_VARIANTS = {
    "zip": ("float32", True),
    "legacy": ("float32", False),
    "bfloat16": ("bfloat16", True),
    "float16": ("float16", True),
}


def cmd_torch_save(args):
    """Re-saves a safetensors file with torch.save as <out>/<variant>.bin for each variant
    (zip and legacy serialisation, float32/bfloat16/float16 storage)."""
    source = load_file(args.src)
    os.makedirs(args.out, exist_ok=True)
    result = {}
    for variant, (dtype_name, zip_format) in TORCH_SAVE_VARIANTS.items():
        dtype = getattr(torch, dtype_name)
        state_dict = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in source.items()}
        torch.save(state_dict, os.path.join(args.out, f"{variant}.bin"), _use_new_zipfile_serialization=zip_format)
        result[variant] = digests(state_dict)
    return result


def tiny_config(**extra):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=99,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=64,
        **extra,
    )


def cmd_pretraining(args):
    """A tiny seeded BertForPreTraining (FinBERT-style checkpoint) saved with save_pretrained,
    plus what HF reports when loading it into BertForTokenClassification."""
    from transformers import BertForPreTraining, BertForTokenClassification

    torch.manual_seed(0)
    model = BertForPreTraining(tiny_config())
    if args.bin:
        # torch.save keeps the tied decoder weight as a second view of the embeddings' storage.
        os.makedirs(args.out, exist_ok=True)
        model.config.save_pretrained(args.out)
        torch.save(model.state_dict(), os.path.join(args.out, "pytorch_model.bin"))
    else:
        model.save_pretrained(args.out)
    with open(os.path.join(args.out, "vocab.txt"), "w") as f:
        f.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"tok{i}" for i in range(94)]) + "\n")
    _, info = BertForTokenClassification.from_pretrained(args.out, num_labels=3, output_loading_info=True)
    return {
        "tensors": digests(model.state_dict()),
        "missing_keys": sorted(info["missing_keys"]),
        "unexpected_keys": sorted(info["unexpected_keys"]),
    }


def cmd_shard(args):
    """Loads a BertModel directory and saves it sharded (model.safetensors.index.json)."""
    from transformers import BertModel

    model = BertModel.from_pretrained(args.src)
    model.save_pretrained(args.out, max_shard_size=args.max_shard_size)
    return {"files": sorted(os.listdir(args.out)), "tensors": digests(model.state_dict())}


def run_logits(model, tokenizer, text):
    encoded = tokenizer(text, return_tensors="pt")
    model.eval()
    with torch.no_grad():
        logits = model(**encoded).logits[0]
    return {"input_ids": encoded["input_ids"][0].tolist(), "logits": logits.tolist()}


def cmd_token_classifier(args):
    """Wraps a BERT directory as BertForTokenClassification with a seeded classifier and saves
    model and tokenizer with save_pretrained (the Python side of the round trip)."""
    from transformers import AutoTokenizer, BertForTokenClassification

    labels = [f"L{i}" for i in range(args.num_labels)]
    torch.manual_seed(args.seed)
    model = BertForTokenClassification.from_pretrained(
        args.src,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model.save_pretrained(args.out)
    tokenizer = AutoTokenizer.from_pretrained(args.src)
    tokenizer.save_pretrained(args.out)
    return {
        "files": sorted(os.listdir(args.out)),
        "tensors": digests(model.state_dict()),
        **run_logits(model, tokenizer, args.text),
    }


def inspect_dir(path, text):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    model, info = AutoModelForTokenClassification.from_pretrained(path, output_loading_info=True)
    tokenizer = AutoTokenizer.from_pretrained(path)
    return {
        "class": type(model).__name__,
        "missing_keys": sorted(info["missing_keys"]),
        "unexpected_keys": sorted(info["unexpected_keys"]),
        "mismatched_keys": sorted(str(k) for k in info.get("mismatched_keys", [])),
        "id2label": {str(k): v for k, v in model.config.id2label.items()},
        "tensors": digests(model.state_dict()),
        "tokens": tokenizer.tokenize(text),
        **run_logits(model, tokenizer, text),
    }


def cmd_inspect(args):
    """Loads directories as users will (AutoModelForTokenClassification, AutoTokenizer) and
    reports what HF made of each."""
    return {path: inspect_dir(path, args.text) for path in args.dirs}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("torch-save")
    p.add_argument("src")
    p.add_argument("out")
    p.set_defaults(run=cmd_torch_save)
    p = sub.add_parser("pretraining")
    p.add_argument("out")
    p.add_argument("--bin", action="store_true")
    p.set_defaults(run=cmd_pretraining)
    p = sub.add_parser("shard")
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--max-shard-size", default="30MB")
    p.set_defaults(run=cmd_shard)
    p = sub.add_parser("token-classifier")
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--num-labels", type=int, default=13)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--text", default=SAMPLE_TEXT)
    p.set_defaults(run=cmd_token_classifier)
    p = sub.add_parser("inspect")
    p.add_argument("dirs", nargs="+")
    p.add_argument("--text", default=SAMPLE_TEXT)
    p.set_defaults(run=cmd_inspect)
    args = parser.parse_args()
    json.dump(args.run(args), sys.stdout)


if __name__ == "__main__":
    main()
