"""Saves a seeded HF BertForTokenClassification's weights as safetensors (the tiny test model, or
bert-base with FinBERT's vocabulary and 13 labels): the names and shapes the CUDA engine loads."""
import argparse

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertForTokenClassification

TINY = dict(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=48, max_position_embeddings=24, num_labels=5)
BASE = dict(vocab_size=50105, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
            intermediate_size=3072, max_position_embeddings=512, num_labels=13)


def model(tiny: bool, seed: int) -> BertForTokenClassification:
    torch.manual_seed(seed)
    return BertForTokenClassification(BertConfig(**(TINY if tiny else BASE))).eval()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    state = {k: v.contiguous() for k, v in model(args.tiny, args.seed).state_dict().items()}
    save_file(state, args.out, metadata={"format": "pt"})
