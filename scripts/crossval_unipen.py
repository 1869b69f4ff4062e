"""How well does a training setting read writers it never saw? Cross-validation by writer.

    python -m scripts.crossval_unipen                         # 4 folds, train.py's defaults
    python -m scripts.crossval_unipen -- --synthetic 0.3      # the same with train.py flags
    python -m scripts.crossval_unipen --folds 2 --out runs/cv --json   # last line: one JSON

UNIPEN's test writers are for measuring only, and its 25 validation writers are few: a setting
chosen on them is chosen on about 960 digits, where one writer's habits can move a digit's
accuracy by several points. This splits UNIPEN's 200 training writers into N folds by a hash of
the writer's id (IBM's left out, as in training). For each fold K it runs

    python train.py --unipen-holdout K/N --out OUT/foldK.npz [train.py flags]
    python evaluate_drawings.py --unipen DIR --holdout K/N --weights OUT/foldK.npz --json

so every training writer is read once by a model that never saw them, as strokes (the page)
and as canvas PNGs (API users, pens 8-30 px), through exactly what the server does. It prints
each fold and the whole: accuracy, accuracy per digit, and each fold's MNIST test accuracy;
OUT/crossval.json keeps it, OUT/foldK_mistakes_{strokes,png}.png show every mistake. A fold
whose weights and report are already in OUT is scored, not trained again (delete them, or use
another --out, to train it anew). Four folds take about four times one `python train.py`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def run_fold(k: int, folds: int, unipen_dir: str, out: Path, train_flags: list[str]) -> dict:
    """Train without fold k (unless done before) and score its writers; the fold's summary."""
    weights, spec = out / f"fold{k}.npz", f"{k}/{folds}"
    if weights.is_file() and weights.with_suffix(".json").is_file():
        print(f"fold {spec}: {weights} is there, scoring it", flush=True)
    else:
        print(f"fold {spec}: python train.py --unipen-holdout {spec} ...", flush=True)
        command = [sys.executable, "train.py", "--unipen-holdout", spec, "--unipen-dir",
                   unipen_dir, "--out", str(weights), *train_flags]
        if subprocess.run(command, cwd=REPO).returncode != 0:
            raise SystemExit(f"crossval_unipen: training fold {spec} failed (above); fix it "
                             f"and run again: finished folds in {out} are kept")
    scored = subprocess.run(
        [sys.executable, "evaluate_drawings.py", "--unipen", unipen_dir, "--holdout", spec,
         "--weights", str(weights), "--json", "--mistakes", str(out / f"fold{k}_mistakes.png")],
        cwd=REPO, capture_output=True, text=True)
    if scored.returncode != 0:
        raise SystemExit(f"crossval_unipen: scoring fold {spec} failed: {scored.stderr.strip()}")
    report = json.loads(scored.stdout.strip().splitlines()[-1])
    trained = json.loads(weights.with_suffix(".json").read_text())
    return {"fold": spec, "digits": report["n"], "mnist_test": trained.get("test_accuracy"),
            **{form: {"accuracy": report[form]["accuracy"],
                      "confusion": report[form]["confusion"]} for form in ("strokes", "png")}}


def summarise(runs: list[dict]) -> dict:
    """All folds together: accuracy and accuracy per digit, from the summed confusion matrices
    (rows the true digit; the last column is 'refused as blank')."""
    whole = {"folds": len(runs), "digits": sum(r["digits"] for r in runs)}
    for form in ("strokes", "png"):
        table = np.sum([r[form]["confusion"] for r in runs], axis=0)
        right = np.diag(table[:, :10])
        whole[form] = {"accuracy": float(right.sum() / table.sum()),
                       "errors": int(table.sum() - right.sum()),
                       "by_digit": (right / np.maximum(table.sum(axis=1), 1)).tolist()}
    return whole


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, train_flags = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) \
        if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Flags after -- go to train.py (not --unipen-holdout, --unipen-dir or --out).")
    parser.add_argument("--folds", type=int, default=4, help="writer folds (default 4)")
    parser.add_argument("--unipen-dir", default=None,
                        help="UNIPEN's folder (default: $UNIPEN_DIR, data/unipen/ or "
                             "../shared/unipen/)")
    parser.add_argument("--out", type=Path, default=Path("runs/crossval"),
                        help="where the fold models and the summary go (default runs/crossval)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(ours)
    if args.folds < 2:
        parser.error(f"--folds must be at least 2, got {args.folds}")
    for flag in ("--unipen-holdout", "--unipen-dir", "--out"):
        if any(f == flag or f.startswith(flag + "=") for f in train_flags):
            parser.error(f"{flag} is set by crossval_unipen itself, not after --")

    from training.unipen import resolve_unipen_dir  # after --help: no numba compile for it
    folder = resolve_unipen_dir(args.unipen_dir)
    if folder is None or not (folder / "train.jsonl.gz").is_file():
        print("crossval_unipen: UNIPEN's train.jsonl.gz not found: pass --unipen-dir or set "
              "UNIPEN_DIR", file=sys.stderr)
        return 1
    out = args.out if args.out.is_absolute() else Path.cwd() / args.out
    out.mkdir(parents=True, exist_ok=True)
    runs = [run_fold(k, args.folds, str(folder.resolve()), out, train_flags)
            for k in range(args.folds)]
    report = {"train_flags": train_flags, "runs": runs, "all": summarise(runs)}
    (out / "crossval.json").write_text(json.dumps(report, indent=1))

    print(f"\nUNIPEN training writers, {args.folds} folds by writer, train.py "
          f"{' '.join(train_flags) or '(defaults)'}")
    print("fold   digits  strokes   PNG     MNIST test")
    for r in runs:
        mnist = f"{r['mnist_test']:.2%}" if r["mnist_test"] is not None else "-"
        print(f"{r['fold']:<6} {r['digits']:>6}  {r['strokes']['accuracy']:>7.2%}  "
              f"{r['png']['accuracy']:>7.2%}  {mnist}")
    whole = report["all"]
    print(f"all    {whole['digits']:>6}  {whole['strokes']['accuracy']:>7.2%}  "
          f"{whole['png']['accuracy']:>7.2%}")
    for form in ("strokes", "png"):
        cells = "  ".join(f"{d}: {a:.1%}" for d, a in enumerate(whole[form]["by_digit"]))
        print(f"by digit, {form:<7} {cells}")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
