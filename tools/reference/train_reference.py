"""Python reference of `ner-launch train` (HF Transformers + torch CPU + seqeval), for parity
runs only (never part of the product). It mirrors the reference trainer's semantics as our
trainer implements them (packages/trainer/src/train/*), with the same flag names:

- data: <data_path>/{train,val,test}.csv, columns tokens/tags holding Python list literals;
  labels O first, then the rest sorted (code-point order);
- tokenization: is_split_into_words, truncation at --max_len; a word's first sub-token gets its
  label, later sub-tokens too with B-X -> I-X (--label_all_subtokens false: -100); [CLS]/[SEP]
  and padding -100; batches padded to their longest sentence;
- model: --model_name_or_path loaded as BertForTokenClassification (a base BERT gets a
  classifier initialised from torch's RNG after torch.manual_seed(--seed));
- AdamW (torch defaults, decoupled weight decay --wd), global grad-norm clip every step;
- schedules: linear = HF get_linear_schedule_with_warmup (warmup round(steps/5) by default,
  decay to 0 over epochs x steps), exponential = ExponentialLR(gamma) per epoch, none;
- per epoch: train loss (mean of step losses), train accuracy/F1 (from the training forward),
  k = --num_validate_during_training validations averaged; early stopping when the epoch's
  validation F1 has not improved for patience x k epochs; the best model is saved
  (save_pretrained) and reloaded for the test;
- metrics: seqeval default mode, one prediction per word (its first sub-token), as
  `evaluate`'s seqeval (tools/reference/seqeval_reference.py), plus the "without O" figures.

Data order (--order): `torch` = a torch.Generator(seed)-driven RandomSampler per epoch (what the
reference trainer does); `ner-launch` = our DistributedSampler's permutation (mulberry32 seeded
from seed and epoch) sharded over --num_processes ranks, so that this script and
`ner-launch --num_processes N train` see the same global batches step by step; `none` = file
order. --num_processes N emulates Accelerate data parallelism in one process: each optimizer
step trains on the N per-rank batches together (global batch N x --batch_size, loss = mean over
the global batch's labelled tokens, as our trainer normalises), steps per epoch = per-rank
batches, evaluation batches = N x --batch_size.

Outputs in --save_model_path: the best model (save_pretrained + tokenizer), metrics.json
({history, test}, the schema of our trainer), history.csv, steps.jsonl (one JSON object per
optimizer step: {"step": 1-based global step, "epoch": 1-based, "loss": the step's global mean
token loss, "lr": learning rate applied in that step (base rate x schedule factor)}) and
run.json (wall times, token counts, tokens/s, settings), and the test set as scored:
test_gold.csv (each sentence's words that kept a sub-token after truncation, gold tags) and
test_predictions.csv (the same words, the best model's tags), in the input's CSV format, so
that another implementation can run the same model on the same words
(tools/parity/eval-parity.sh).

`--init_model_only DIR`: wrap --model_name_or_path for the data's labels (seeded classifier;
--no_dropout sets hidden_dropout_prob and attention_probs_dropout_prob to 0), save it to DIR
with its tokenizer, and exit: the shared starting point of a parity run.

`--dropout_seed S`: the same run with other dropout masks (the only randomness left once init
and data order are fixed), to measure how far the reference's test F1 moves between runs.
"""

import argparse
import ast
import csv
import json
import math
import os
import random
import shutil
import sys
import time

import torch

# Importing the sibling module must not leave a __pycache__ in the repository.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seqeval_reference import evaluate_seqeval, plain, without_o  # noqa: E402

IGNORE = -100
MASK32 = 0xFFFFFFFF


def str2bool(value):
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data_path", default="./data/")
    p.add_argument("--model_name_or_path", required=True)
    p.add_argument("--save_model_path", default="./checkpoint/")
    p.add_argument("--max_len", type=int, default=512)
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--learning_rate", type=float, default=0.0002)
    p.add_argument("--wd", type=float, default=0.01)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--patience", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--gamma", type=float, default=0.8)
    p.add_argument("--scheduler", choices=["linear", "exponential", "none"], default="linear")
    p.add_argument("--warmup_steps", type=int, default=None)
    p.add_argument("--max_grad_norm", type=float, default=1.0)
    p.add_argument("--num_validate_during_training", type=int, default=1)
    p.add_argument("--label_all_subtokens", type=str2bool, default=True)
    p.add_argument("--num_processes", type=int, default=1,
                   help="emulated data-parallel ranks (global batch = N x batch_size)")
    p.add_argument("--order", choices=["torch", "ner-launch", "none"], default="torch")
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (on a loaded machine more threads spin and slow down)")
    p.add_argument("--device", default="cpu",
                   help="torch device for the reference run (cpu, as the parity bar asks; cuda where a "
                        "GPU machine runs the reference for time; TF32 stays off)")
    p.add_argument("--init_model_only", default=None, metavar="DIR")
    p.add_argument("--no_dropout", action="store_true")
    p.add_argument("--dropout_seed", type=int, default=None,
                   help="reseed torch's RNG after loading the model, so that only the dropout masks "
                        "change (data order and init stay those of --seed): the reference's own "
                        "run-to-run spread")
    args = p.parse_args(argv)
    for name in ("max_len", "batch_size", "epochs", "patience", "num_processes",
                 "num_validate_during_training", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    return args


# ---------------------------------------------------------------- data

def read_csv(path):
    """(tokens, tags) per row; errors name the file and line."""
    if not os.path.exists(path):
        sys.exit(f"{path}: file not found (expected train.csv, val.csv and test.csv)")
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            where = f"{path}:{reader.line_num}"
            try:
                tokens = ast.literal_eval(row["tokens"])
                tags = ast.literal_eval(row["tags"])
            except (ValueError, SyntaxError, KeyError) as error:
                sys.exit(f"{where}: cannot read tokens/tags ({error})")
            if len(tokens) != len(tags):
                sys.exit(f"{where}: {len(tokens)} tokens but {len(tags)} tags")
            rows.append((list(tokens), list(tags)))
    return rows


def label_list(train):
    tags = {t for _, tags in train for t in tags} | {"O"}
    return ["O"] + sorted(tags - {"O"})


class Encoded:
    __slots__ = ("input_ids", "labels", "word_ids", "tags")

    def __init__(self, input_ids, labels, word_ids, tags):
        self.input_ids, self.labels, self.word_ids, self.tags = input_ids, labels, word_ids, tags


def encode(tokenizer, rows, label_to_id, max_len, label_all):
    out = []
    chunk = 512
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        enc = tokenizer([r[0] for r in part], is_split_into_words=True, truncation=True,
                        max_length=max_len)
        for i, (_, tags) in enumerate(part):
            word_ids = enc.word_ids(i)
            labels, previous = [], None
            for w in word_ids:
                if w is None:
                    labels.append(IGNORE)
                elif w != previous:
                    labels.append(label_to_id[tags[w]])
                elif label_all:
                    tag = tags[w]
                    inside = "I-" + tag[2:] if tag.startswith("B-") else tag
                    labels.append(label_to_id.get(inside, label_to_id[tag]))
                else:
                    labels.append(IGNORE)
                previous = w
            out.append(Encoded(enc["input_ids"][i], labels, word_ids, tags))
    unk = tokenizer.unk_token_id
    total = sum(len(e.input_ids) for e in out)
    unks = sum(e.input_ids.count(unk) for e in out)
    if unks > total // 4:
        sys.exit(f"tokenizer produced {unks}/{total} [UNK]s; wrong vocab?")
    return out


def collate(examples, pad_id):
    seq = max(1, max(len(e.input_ids) for e in examples))
    ids = torch.full((len(examples), seq), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), seq), dtype=torch.long)
    labels = torch.full((len(examples), seq), IGNORE, dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        mask[row, :n] = 1
        labels[row, :n] = torch.tensor(e.labels)
    return ids, mask, labels


def score_sentence(e, predictions, labels):
    """Gold and predicted word tags; a word's prediction is at its first sub-token."""
    first = {}
    for position, w in enumerate(e.word_ids):
        if w is not None and w not in first:
            first[w] = position
    gold, pred = [], []
    for w, tag in enumerate(e.tags):
        if w in first:
            gold.append(tag)
            pred.append(labels[predictions[first[w]]])
    return gold, pred


# ---------------------------------------------------------------- data order

def imul(a, b):
    return (a * b) & MASK32


def mulberry32(seed):
    """packages/common/src/seeded-random.ts mulberry32, bit for bit (the reference check needs its own copy)."""
    state = seed & MASK32

    def draw():
        nonlocal state
        state = (state + 0x6D2B79F5) & MASK32
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t = (t ^ ((t + imul(t ^ (t >> 7), t | 61)) & MASK32)) & MASK32
        return ((t ^ (t >> 14)) & MASK32) / 4294967296

    return draw


def ner_launch_order(n, seed, epoch):
    draw = mulberry32(imul(seed & MASK32, 0x9E3779B1) ^ imul(epoch + 1, 0x85EBCA6B))
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = math.floor(draw() * (i + 1))
        order[i], order[j] = order[j], order[i]
    return order


def global_batches(n, batch_size, world, order):
    """Per optimizer step: [(dataset index, is_real)] over all ranks, as our
    DistributedSampler shards (rank r takes positions r, r+N, ...; padded to even ranks)."""
    per_rank = math.ceil(n / world)
    batches_per_rank = math.ceil(per_rank / batch_size)
    ranks = [[i * world + rank for i in range(per_rank)] for rank in range(world)]
    steps = []
    for b in range(batches_per_rank):
        items = []
        for positions in ranks:
            items.extend((order[p % n], p < n) for p in positions[b * batch_size:(b + 1) * batch_size])
        steps.append(items)
    return steps


def epoch_order(args, n, epoch, generator):
    if args.order == "ner-launch":
        return ner_launch_order(n, args.seed, epoch)
    if args.order == "torch":
        return torch.randperm(n, generator=generator).tolist()
    return list(range(n))


# ---------------------------------------------------------------- schedule / stopping

def validation_indices(batches, k):
    count = min(k, batches)
    every = batches // count if count > 0 else 0
    return {(j + 1) * every - 1 for j in range(count)}


def lr_factor(kind, step, warmup, total, steps_per_epoch, gamma):
    """Same as HF's linear schedule / torch ExponentialLR, as a function of the 0-based step."""
    if kind == "linear":
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))
    if kind == "exponential":
        return gamma ** (step // max(1, steps_per_epoch))
    return 1.0


# ---------------------------------------------------------------- model

def load_model(path, labels, seed, no_dropout=False):
    from transformers import AutoConfig, BertForTokenClassification

    config = AutoConfig.from_pretrained(path)
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {label: i for i, label in enumerate(labels)}
    if no_dropout:
        config.hidden_dropout_prob = 0.0
        config.attention_probs_dropout_prob = 0.0
    torch.manual_seed(seed)
    return BertForTokenClassification.from_pretrained(
        path, config=config, ignore_mismatched_sizes=True, attn_implementation="eager")


def evaluate(model, data, batch, pad_id, labels, device="cpu"):
    """Eval-mode pass; loss = mean over batches of each batch's mean token loss."""
    model.eval()
    losses, gold, pred = [], [], []
    with torch.no_grad():
        for start in range(0, len(data), batch):
            part = data[start:start + batch]
            ids, mask, y = (t.to(device) for t in collate(part, pad_id))
            out = model(input_ids=ids, attention_mask=mask, labels=y)
            if int((y != IGNORE).sum()) > 0:
                losses.append(float(out.loss))
            predictions = out.logits.argmax(-1).tolist()
            for row, e in enumerate(part):
                g, p = score_sentence(e, predictions[row], labels)
                gold.append(g)
                pred.append(p)
    model.train()
    return (sum(losses) / len(losses) if losses else 0.0), gold, pred


def write_scored_words(path, rows, encoded, tags_per_sentence):
    """tokens/tags CSV of the words that were scored (those with a sub-token left, in order)."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["tokens", "tags"])
        for (words, _), e, tags in zip(rows, encoded, tags_per_sentence, strict=True):
            scored = sorted({w for w in e.word_ids if w is not None})
            out.writerow([repr([words[w] for w in scored]), repr(list(tags))])


def save_model(model, tokenizer, path):
    os.makedirs(path, exist_ok=True)
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)


# ---------------------------------------------------------------- main

def main(argv=None):
    args = parse_args(argv)
    started = time.time()
    torch.set_num_threads(args.threads)
    # Full fp32 on a GPU too: TF32 would change the reference's arithmetic.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    from transformers import AutoTokenizer

    train_rows = read_csv(os.path.join(args.data_path, "train.csv"))
    labels = label_list(train_rows)
    label_to_id = {label: i for i, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(args.model_name_or_path)

    if args.init_model_only:
        model = load_model(args.model_name_or_path, labels, args.seed, args.no_dropout)
        save_model(model, tokenizer, args.init_model_only)
        # transformers 5 saves tokenizer.json only; our tokenizer also reads vocab.txt.
        vocab = os.path.join(args.model_name_or_path, "vocab.txt")
        if os.path.exists(vocab):
            shutil.copy(vocab, args.init_model_only)
        json.dump({"labels": labels, "dir": args.init_model_only,
                   "parameters": sum(p.numel() for p in model.parameters())}, sys.stdout)
        sys.stdout.write("\n")
        return

    val_rows = read_csv(os.path.join(args.data_path, "val.csv"))
    test_rows = read_csv(os.path.join(args.data_path, "test.csv"))
    for name, rows in (("val.csv", val_rows), ("test.csv", test_rows)):
        for tokens, tags in rows:
            unknown = set(tags) - set(labels)
            if unknown:
                sys.exit(f"{args.data_path}/{name}: tags {sorted(unknown)} not in train.csv")
    enc = lambda rows: encode(tokenizer, rows, label_to_id, args.max_len, args.label_all_subtokens)  # noqa: E731
    train, val, test = enc(train_rows), enc(val_rows), enc(test_rows)
    pad_id = tokenizer.pad_token_id
    os.makedirs(args.save_model_path, exist_ok=True)

    model = load_model(args.model_name_or_path, labels, args.seed, args.no_dropout).to(args.device)
    if args.dropout_seed is not None:
        torch.manual_seed(args.dropout_seed)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.wd)
    world, n = args.num_processes, len(train)
    steps_per_epoch = math.ceil(math.ceil(n / world) / args.batch_size)
    warmup = args.warmup_steps if args.warmup_steps is not None else round(steps_per_epoch / 5)
    total = args.epochs * steps_per_epoch
    eval_batch = args.batch_size * world
    k = args.num_validate_during_training
    generator = torch.Generator().manual_seed(args.seed)
    print(f"reference: {n}/{len(val)}/{len(test)} sentences, labels {' '.join(labels)}, "
          f"{steps_per_epoch} steps/epoch, warmup {warmup}, total {total}", file=sys.stderr)

    history, step, best_f1, best_epoch, bad_epochs = [], 0, -math.inf, 0, 0
    train_tokens = 0
    train_seconds = 0.0
    steps_log = open(os.path.join(args.save_model_path, "steps.jsonl"), "w", encoding="utf-8")
    for epoch in range(args.epochs):
        epoch_started = time.time()
        batches = global_batches(n, args.batch_size, world, epoch_order(args, n, epoch, generator))
        validate_after = validation_indices(len(batches), k)
        step_losses, gold, pred, validations = [], [], [], []
        lr = 0.0
        for i, items in enumerate(batches):
            examples = [train[x] for x, _ in items]
            ids, mask, y = (t.to(args.device) for t in collate(examples, pad_id))
            lr = args.learning_rate * lr_factor(args.scheduler, step, warmup, total,
                                                steps_per_epoch, args.gamma)
            for group in optimizer.param_groups:
                group["lr"] = lr
            out = model(input_ids=ids, attention_mask=mask, labels=y)
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            optimizer.step()
            step += 1
            loss = float(out.loss)
            step_losses.append(loss)
            train_tokens += int(mask.sum())
            steps_log.write(json.dumps({"step": step, "epoch": epoch + 1, "loss": loss, "lr": lr}) + "\n")
            steps_log.flush()
            predictions = out.logits.detach().argmax(-1).tolist()
            for row, (x, real) in enumerate(items):
                if real:
                    g, p = score_sentence(train[x], predictions[row], labels)
                    gold.append(g)
                    pred.append(p)
            if i % 50 == 0:
                print(f"Epoch {epoch} | Batch {i}/{len(batches)} | Timestep {step} | "
                      f"LR {lr:.10f} | Train loss {loss:.3f}", file=sys.stderr, flush=True)
            if i in validate_after:
                v_loss, v_gold, v_pred = evaluate(model, val, eval_batch, pad_id, labels, args.device)
                scores = evaluate_seqeval(v_gold, v_pred, "default")
                validations.append((v_loss, scores["overall_accuracy"], scores["overall_f1"]))
        train_seconds += time.time() - epoch_started
        steps_log.flush()
        train_scores = evaluate_seqeval(gold, pred, "default")
        record = {
            "epoch": epoch + 1,
            "train_loss": sum(step_losses) / max(1, len(step_losses)),
            "train_accuracy": train_scores["overall_accuracy"],
            "train_f1": train_scores["overall_f1"],
            "val_loss": sum(v[0] for v in validations) / len(validations),
            "val_accuracy": sum(v[1] for v in validations) / len(validations),
            "val_f1": sum(v[2] for v in validations) / len(validations),
            "lr": lr,
        }
        history.append(plain(record))
        print(f"Epoch {epoch} | " + " | ".join(f"{key} {value:.4f}" for key, value in record.items()
                                              if key != "epoch"), file=sys.stderr, flush=True)
        if record["val_f1"] > best_f1:
            best_f1, best_epoch, bad_epochs = record["val_f1"], epoch + 1, 0
            save_model(model, tokenizer, args.save_model_path)
        else:
            bad_epochs += 1
        if bad_epochs >= args.patience * k:
            print("Training is aborted as validation f1 score has not improved", file=sys.stderr)
            break
    steps_log.close()

    best = load_model(args.save_model_path, labels, args.seed).to(args.device)
    t_loss, t_gold, t_pred = evaluate(best, test, eval_batch, pad_id, labels, args.device)
    test_results = {"loss": t_loss, **evaluate_seqeval(t_gold, t_pred, "default"),
                    "without_O": without_o(t_gold, t_pred, "default")}
    metrics = {"history": history, "test": plain(test_results)}
    write_scored_words(os.path.join(args.save_model_path, "test_gold.csv"), test_rows, test,
                       t_gold)
    write_scored_words(os.path.join(args.save_model_path, "test_predictions.csv"), test_rows, test,
                       t_pred)
    with open(os.path.join(args.save_model_path, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    columns = list(history[0].keys()) if history else []
    with open(os.path.join(args.save_model_path, "history.csv"), "w", encoding="utf-8") as f:
        f.write(",".join(columns) + "\n")
        for record in history:
            f.write(",".join(repr(record[c]) for c in columns) + "\n")
    wall = time.time() - started
    run = {
        "wall_seconds": wall,
        "train_seconds": train_seconds,
        "train_tokens": train_tokens,
        "tokens_per_second": train_tokens / wall,
        "train_tokens_per_second": train_tokens / train_seconds if train_seconds else 0,
        "optimizer_steps": step,
        "best_epoch": best_epoch,
        "threads": args.threads,
        "settings": vars(args),
    }
    with open(os.path.join(args.save_model_path, "run.json"), "w", encoding="utf-8") as f:
        json.dump(run, f, indent=2)
        f.write("\n")
    print(f"Test loss {t_loss:.3f} | Test f1 score {test_results['overall_f1']:.4f} | "
          f"Test f1 w/o O {test_results['without_O']['overall_f1']:.4f} | wall {wall:.1f} s | "
          f"{run['tokens_per_second']:.0f} tokens/s", file=sys.stderr)


if __name__ == "__main__":
    main()
