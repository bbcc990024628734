"""Loads a tokenizer with AutoTokenizer and writes it back with save_pretrained (transformers 5
writes tokenizer.json + tokenizer_config.json, no vocab.txt), for load-compatibility tests.

Usage: resave_tokenizer.py SRC_DIR DST_DIR
"""

import sys

from transformers import AutoTokenizer


def main():
    src, dst = sys.argv[1:3]
    AutoTokenizer.from_pretrained(src).save_pretrained(dst)


if __name__ == "__main__":
    main()
