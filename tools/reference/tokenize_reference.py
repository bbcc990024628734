"""Reference tokenization with HF BertTokenizerFast (AutoTokenizer), words pre-split.

Usage: tokenize_reference.py < requests.jsonl > encodings.jsonl
Each input line is {"model": DIR, "max_length": N or null, "words": [...]}; each output line is
{"input_ids": [...], "word_ids": [...]} from
AutoTokenizer.from_pretrained(DIR)(words, is_split_into_words=True[, truncation=True, max_length=N]).
One process serves many models (tests batch everything into one call). Per-model stats go to
stderr; exits non-zero if a tokenizer is not fast or most tokens are [UNK] (the transformers 5
trap where a vocab file is silently ignored).
"""

import json
import sys

from transformers import AutoTokenizer


def main():
    requests = [json.loads(line) for line in sys.stdin if line.strip()]
    tokenizers = {}
    stats = {}
    out = sys.stdout
    start = 0
    while start < len(requests):
        key = (requests[start]["model"], requests[start].get("max_length"))
        end = start
        while end < len(requests) and end - start < 512:
            if (requests[end]["model"], requests[end].get("max_length")) != key:
                break
            end += 1
        model_dir, max_length = key
        if model_dir not in tokenizers:
            tok = AutoTokenizer.from_pretrained(model_dir)
            if not tok.is_fast:
                sys.exit(f"{model_dir}: AutoTokenizer did not give a fast tokenizer")
            tokenizers[model_dir] = tok
            stats[model_dir] = {"sentences": 0, "tokens": 0, "unk": 0}
        tok = tokenizers[model_dir]
        kwargs = {"is_split_into_words": True}
        if max_length is not None:
            kwargs.update(truncation=True, max_length=max_length)
        batch = [r["words"] for r in requests[start:end]]
        # The tokenizer rejects an empty word list; [""] encodes to [CLS] [SEP] with no word.
        enc = tok([words if words else [""] for words in batch], **kwargs)
        s = stats[model_dir]
        for i in range(len(batch)):
            ids = enc["input_ids"][i]
            s["sentences"] += 1
            s["tokens"] += len(ids)
            s["unk"] += sum(1 for t in ids if t == tok.unk_token_id)
            out.write(json.dumps({"input_ids": ids, "word_ids": enc.word_ids(i)}) + "\n")
        start = end
    print(json.dumps(stats), file=sys.stderr)
    for model_dir, s in stats.items():
        if s["tokens"] > 0 and s["unk"] > 0.5 * s["tokens"]:
            sys.exit(f"{model_dir}: {s['unk']} of {s['tokens']} tokens are [UNK]; the vocab was not loaded")


if __name__ == "__main__":
    main()
