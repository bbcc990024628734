"""Probe the Rust `tokenizers` BERT normalizer and pre-tokenizer on every Unicode scalar value.

Output (stdout, one JSON object): {"version": tokenizers version, "rows": [[cp, clean, nfd, lower,
strip, uncased, punct], ...]} listing only code points where some column is not the trivial
value (the character itself; punct false). Columns:
  clean   -- BertNormalizer(clean_text, handle_chinese_chars) output
  nfd     -- NFD normalizer output
  lower   -- BertNormalizer lowercase only (per-character lowercasing)
  strip   -- BertNormalizer strip_accents only (NFD, then non-spacing marks removed)
  uncased -- the full default uncased BERT normalizer (clean, chinese, strip accents, lowercase)
  punct   -- whether BertPreTokenizer splits the character off as punctuation
Used by tools/reference/gen-bert-unicode-tables.ts (generates the TS tables) and by the
tokenizer tests (exhaustive per-character parity).
"""

import json
import sys

import tokenizers
from tokenizers.normalizers import NFD, BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer

SEP = "#@#"
CODE_POINTS = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]


def batched(normalizer):
    """Normalizes every code point in one call: '#' is a starter, so NFD never reorders across it."""
    text = SEP + SEP.join(chr(cp) for cp in CODE_POINTS) + SEP
    parts = normalizer.normalize_str(text).split(SEP)[1:-1]
    assert len(parts) == len(CODE_POINTS), "separator collision"
    out = dict(zip(CODE_POINTS, parts))
    for ch in "#@":  # the separator's own characters, done one by one
        out[ord(ch)] = normalizer.normalize_str(ch)
    return out


def punctuation():
    """Code points BertPreTokenizer isolates. In "x c0 x c1 x ..." (no spaces) every other
    character stays glued to its neighbours, so only punctuation comes back as a one-character
    piece at an odd offset; offsets are in characters."""
    text = "x" + "x".join(chr(cp) for cp in CODE_POINTS) + "x"
    isolated = set()
    for piece, (start, end) in BertPreTokenizer().pre_tokenize_str(text):
        if end - start == 1 and start % 2 == 1 and piece != "x":
            isolated.add(CODE_POINTS[start // 2])
    return {cp: cp in isolated for cp in CODE_POINTS}


def main():
    columns = [
        batched(BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)),
        batched(NFD()),
        batched(BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=True)),
        batched(BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)),
        batched(BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)),
    ]
    punct = punctuation()
    rows = []
    for cp in CODE_POINTS:
        ch = chr(cp)
        values = [col[cp] for col in columns]
        if any(v != ch for v in values) or punct[cp]:
            rows.append([cp, *values, punct[cp]])
    json.dump({"version": tokenizers.__version__, "rows": rows}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
