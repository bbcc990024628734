"""seqeval 1.2.2 figures for the metrics parity test (reference only, never in the product).

Reads {"cases": [{"gold": [[tag, ...], ...], "pred": [[...]], "mode": "default"|"strict",
"digits": [2, 4]}]}
on stdin and writes {"results": [...]} to stdout, one entry per case:

- "evaluate": what `evaluate.load("seqeval").compute(predictions=pred, references=gold)` returns
  (mode="strict", scheme="IOB2" in strict mode). The `evaluate` package is not installed here
  (it pulls in `datasets`, and `evaluate.load` fetches the metric script from the Hub), so
  `evaluate_seqeval` below repeats what its metrics/seqeval/seqeval.py `_compute` does: one
  `classification_report(output_dict=True, zero_division="warn")`, macro/weighted dropped,
  micro kept as overall_*, `accuracy_score` added, per type {precision, recall, f1, number}.
- "report": `classification_report(..., output_dict=True, zero_division=1)` (the reference
  trainer's printed per-class report); "texts": {digits: the same report as text} for each
  entry of the case's "digits" (default [2, 4]).
- "without_O": `evaluate_seqeval` on the positions whose gold tag is not O, as one sequence.

Any entry Python cannot compute is {"error": "ExceptionName: message"}. NaN becomes null.
"""

import json
import math
import sys
import warnings

from seqeval.metrics import accuracy_score, classification_report
from seqeval.scheme import IOB2

warnings.filterwarnings("ignore")


def report_kwargs(mode):
    return {"mode": "strict", "scheme": IOB2} if mode == "strict" else {}


def evaluate_seqeval(gold, pred, mode):
    report = classification_report(
        y_true=gold, y_pred=pred, suffix=False, output_dict=True,
        sample_weight=None, zero_division="warn", **report_kwargs(mode),
    )
    report.pop("macro avg")
    report.pop("weighted avg")
    overall = report.pop("micro avg")
    per_class = {
        name: {"precision": s["precision"], "recall": s["recall"], "f1": s["f1-score"],
               "number": s["support"]}
        for name, s in report.items()
    }
    return {
        "overall_precision": overall["precision"],
        "overall_recall": overall["recall"],
        "overall_f1": overall["f1-score"],
        "overall_accuracy": accuracy_score(y_true=gold, y_pred=pred),
        "per_class": per_class,
    }


def without_o(gold, pred, mode):
    kept_gold, kept_pred = [], []
    for g_sent, p_sent in zip(gold, pred):
        for g, p in zip(g_sent, p_sent):
            if g != "O":
                kept_gold.append(g)
                kept_pred.append(p)
    result = evaluate_seqeval([kept_gold], [kept_pred], mode)
    result.pop("per_class")
    return result


def plain(value):
    """JSON-safe copy: numpy scalars to Python numbers, NaN to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, str) or value is None:
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def attempt(fn):
    try:
        return plain(fn())
    except Exception as error:  # the test checks that our side fails too
        return {"error": f"{type(error).__name__}: {error}"}


def run_case(case):
    gold, pred, mode = case["gold"], case["pred"], case.get("mode", "default")
    kwargs = report_kwargs(mode)
    return {
        "evaluate": attempt(lambda: evaluate_seqeval(gold, pred, mode)),
        "report": attempt(lambda: classification_report(
            gold, pred, output_dict=True, zero_division=1, **kwargs)),
        "texts": {
            str(digits): attempt(lambda: classification_report(
                gold, pred, digits=digits, zero_division=1, **kwargs))
            for digits in case.get("digits", [2, 4])
        },
        "without_O": attempt(lambda: without_o(gold, pred, mode)),
    }


def main():
    cases = json.load(sys.stdin)["cases"]
    json.dump({"results": [run_case(case) for case in cases]}, sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()
