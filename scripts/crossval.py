"""How well does a training setting read writers it never saw? Cross-validation by writer.

    python -m scripts.crossval                         # 4 folds, train.py's defaults
    python -m scripts.crossval -- --pendigits-copies 2 # the same with train.py flags
    python -m scripts.crossval --folds 2 --out runs/cv --json   # last line: one JSON
    python -m scripts.crossval --fold 0 --fold 1       # two of the 4 folds only

The pen sources' test writers are for measuring only, and their validation writers are few: a
setting chosen on them is chosen on about 2,000 digits, where one writer's habits can move a
digit's accuracy by several points. This splits the training writers of both pen sources, UNIPEN's
200 (IBM's left out, as in training) and pendigits' 30, into N folds by a hash of the writer's id.
For each fold K it runs

    python train.py --unipen-holdout K/N --pendigits-holdout K/N --out OUT/foldK.npz [flags]
    python evaluate_drawings.py --unipen DIR --holdout K/N --weights OUT/foldK.npz --json
    python evaluate_drawings.py --pendigits DIR --holdout K/N --weights OUT/foldK.npz --json

so every training writer is read once by a model that never saw them, as strokes (the page)
and as canvas PNGs (API users, pens 8-30 px), through exactly what the server does. It prints
each fold and the whole, for each source: accuracy, accuracy per digit, and each fold's MNIST
test accuracy; OUT/crossval.json keeps it, OUT/foldK_{unipen,pendigits}_mistakes_{strokes,png}.png
show every mistake. A source that is not there is left out, and said so. A fold whose weights
and report are already in OUT is scored, not trained again (delete them, or use another --out,
to train it anew). Four folds take about four times one `python train.py`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SET_HERE = ("--unipen-holdout", "--pendigits-holdout", "--unipen-dir", "--pendigits-dir", "--out")


def run_fold(k: int, folds: int, sources: dict[str, str], out: Path,
             train_flags: list[str]) -> dict:
    """Train without fold k (unless done before) and score its writers of every source; the
    fold's summary."""
    weights, spec = out / f"fold{k}.npz", f"{k}/{folds}"
    if weights.is_file() and weights.with_suffix(".json").is_file():
        print(f"fold {spec}: {weights} is there, scoring it", flush=True)
    else:
        print(f"fold {spec}: python train.py --unipen-holdout {spec} --pendigits-holdout {spec} "
              "...", flush=True)
        command = [sys.executable, "train.py", "--unipen-holdout", spec, "--pendigits-holdout",
                   spec, "--out", str(weights), *train_flags]
        for source, folder in sources.items():
            command += [f"--{source}-dir", folder]
        if subprocess.run(command, cwd=REPO).returncode != 0:
            raise SystemExit(f"crossval: training fold {spec} failed (above); fix it and run "
                             f"again: finished folds in {out} are kept")
    trained = json.loads(weights.with_suffix(".json").read_text())
    run = {"fold": spec, "mnist_test": trained.get("test_accuracy")}
    for source, folder in sources.items():
        scored = subprocess.run(
            [sys.executable, "evaluate_drawings.py", f"--{source}", folder, "--holdout", spec,
             "--weights", str(weights), "--json",
             "--mistakes", str(out / f"fold{k}_{source}_mistakes.png")],
            cwd=REPO, capture_output=True, text=True)
        if scored.returncode != 0:
            raise SystemExit(f"crossval: scoring fold {spec} on {source} failed: "
                             f"{scored.stderr.strip()}")
        report = json.loads(scored.stdout.strip().splitlines()[-1])
        run[source] = {"digits": report["n"],
                       **{form: {"accuracy": report[form]["accuracy"],
                                 "confusion": report[form]["confusion"]}
                          for form in ("strokes", "png")}}
    return run


def summarise(runs: list[dict], source: str) -> dict:
    """One source's folds together: accuracy and accuracy per digit, from the summed confusion
    matrices (rows the true digit; the last column is 'refused as blank')."""
    whole = {"folds": len(runs), "digits": sum(r[source]["digits"] for r in runs)}
    for form in ("strokes", "png"):
        table = np.sum([r[source][form]["confusion"] for r in runs], axis=0)
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
        epilog=f"Flags after -- go to train.py (not {', '.join(SET_HERE)}).")
    parser.add_argument("--folds", type=int, default=4, help="writer folds (default 4)")
    parser.add_argument("--unipen-dir", default=None,
                        help="UNIPEN's folder (default: $UNIPEN_DIR, data/unipen/ or "
                             "../shared/unipen/)")
    parser.add_argument("--pendigits-dir", default=None,
                        help="pendigits' folder (default: $PENDIGITS_DIR, data/pendigits/ or "
                             "../shared/pendigits/)")
    parser.add_argument("--out", type=Path, default=Path("runs/crossval"),
                        help="where the fold models and the summary go (default runs/crossval)")
    parser.add_argument("--fold", type=int, action="append", metavar="K",
                        help="run only fold K (repeat for several; default: every fold)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(ours)
    if args.folds < 2:
        parser.error(f"--folds must be at least 2, got {args.folds}")
    folds = sorted(set(args.fold)) if args.fold else list(range(args.folds))
    if not all(0 <= k < args.folds for k in folds):
        parser.error(f"--fold must be 0 to {args.folds - 1}, got {args.fold}")
    for flag in SET_HERE:
        if any(f == flag or f.startswith(flag + "=") for f in train_flags):
            parser.error(f"{flag} is set by crossval itself, not after --")

    # after --help: no numba compile for it
    from training.pendigits import resolve_pendigits_dir
    from training.unipen import resolve_unipen_dir
    sources = {}
    for source, folder in (("unipen", resolve_unipen_dir(args.unipen_dir)),
                           ("pendigits", resolve_pendigits_dir(args.pendigits_dir))):
        if folder is None or not (folder / "train.jsonl.gz").is_file():
            where = folder or f"pass --{source}-dir"
            print(f"crossval: {source}'s train.jsonl.gz not found ({where}): its writers are "
                  "left out", file=sys.stderr)
        else:
            sources[source] = str(folder.resolve())
    if not sources:
        print("crossval: no writers to cross-validate over: pass --unipen-dir or "
              "--pendigits-dir", file=sys.stderr)
        return 1
    out = args.out if args.out.is_absolute() else Path.cwd() / args.out
    out.mkdir(parents=True, exist_ok=True)
    runs = [run_fold(k, args.folds, sources, out, train_flags) for k in folds]
    report = {"train_flags": train_flags, "runs": runs,
              "all": {source: summarise(runs, source) for source in sources}}
    (out / "crossval.json").write_text(json.dumps(report, indent=1))

    print(f"\ntraining writers, folds {', '.join(map(str, folds))} of {args.folds} by writer, "
          f"train.py {' '.join(train_flags) or '(defaults)'}")
    for source in sources:
        print(f"{source}\nfold   digits  strokes   PNG     MNIST test")
        for r in runs:
            mnist = f"{r['mnist_test']:.2%}" if r["mnist_test"] is not None else "-"
            print(f"{r['fold']:<6} {r[source]['digits']:>6}  "
                  f"{r[source]['strokes']['accuracy']:>7.2%}  "
                  f"{r[source]['png']['accuracy']:>7.2%}  {mnist}")
        whole = report["all"][source]
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
