"""Trains a small cased BERT WordPiece vocab (HF `tokenizers`) for tokenizer parity tests.

Usage: build_cased_vocab.py OUT_DIR [--vocab_size N] < sentences.jsonl
Input lines are JSON lists of words. Writes vocab.txt, tokenizer_config.json (do_lower_case
false) and special_tokens_map.json into OUT_DIR, loadable by AutoTokenizer.from_pretrained.
"""

import argparse
import json
import os
import sys

from tokenizers import BertWordPieceTokenizer

SPECIALS = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--vocab_size", type=int, default=8000)
    args = parser.parse_args()
    texts = [" ".join(json.loads(line)) for line in sys.stdin if line.strip()]
    tok = BertWordPieceTokenizer(lowercase=False, strip_accents=False, clean_text=True, handle_chinese_chars=True)
    tok.train_from_iterator(
        texts,
        vocab_size=args.vocab_size,
        min_frequency=2,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        show_progress=False,
    )
    os.makedirs(args.out_dir, exist_ok=True)
    tok.save_model(args.out_dir)
    with open(os.path.join(args.out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"do_lower_case": False, "strip_accents": None, "tokenize_chinese_chars": True,
                   "tokenizer_class": "BertTokenizer", "model_max_length": 512, **SPECIALS}, f)
    with open(os.path.join(args.out_dir, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump(SPECIALS, f)
    print(json.dumps({"texts": len(texts), "vocab": tok.get_vocab_size()}), file=sys.stderr)


if __name__ == "__main__":
    main()
