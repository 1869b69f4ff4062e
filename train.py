"""Train the digit classifier from scratch on MNIST, with nothing lost.

    python train.py                          # the committed model: the defaults in Config
    python train.py --limit 2000 --epochs 2  # a smoke run in seconds
    python train.py --resume                 # continue a killed run from its last checkpoint
    python train.py --drawings data/drawings.sqlite   # also learn from drawings people labelled

Data: MNIST from --data-dir, else $MNIST_DIR, else data/mnist/ (downloaded there and verified if
missing); real writers' pen digits from UNIPEN (--unipen-dir, else $UNIPEN_DIR, else data/unipen/
or ../shared/unipen/) and from pendigits (--pendigits-dir, else $PENDIGITS_DIR, else
data/pendigits/ or ../shared/pendigits/), each left out, and said so, where it is absent; and
digits drawn in styles MNIST lacks (training/synthetic.py). The real writers' strokes are drawn
by random hands through the server's own preprocessing (training/handwriting.py). The last 5,000
MNIST training images and about one training writer in seven of each pen source are held out for
validation: every choice made while training looks at them only. MNIST's 10,000 test images and
the pen sources' test writers are scored once, at the end.

Writes beside --out (default weights/mnist_cnn.npz): the weights (.npz, loadable with nn.load),
a report (.json: command, config, per-epoch history, accuracies, confusion matrix, wall time,
CPU), plots (.png: curves, confusion matrix, misclassified test digits), and during the run a
checkpoint (.ckpt.npz) after every epoch, from which --resume continues exactly: an interrupted
run ends with the same weights as an uninterrupted one with the same seed.
"""

import argparse
import dataclasses
import functools
import json
import os
import platform
import sys
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import nn
import nn.fast
from digits.preprocess import strokes_to_mnist
from training.augment import augment_batch
from training.handwriting import handwriting_images
from training.mnist import DownloadError, ensure_mnist, resolve_data_dir
from training.pendigits import CREDIT as PENDIGITS_CREDIT
from training.pendigits import load_pendigits, resolve_pendigits_dir, smooth_strokes
from training.report import cpu_name, plot_all
from training.synthetic import synthetic_digits
from training.unipen import (
    VALIDATION,
    load_unipen,
    parse_holdout,
    resolve_unipen_dir,
    split_writers,
)
from web.store import StoreError, read_drawings


def option(default, help: str, low=None):
    """A setting: its default, the --help text, and the least value it may take."""
    return field(default=default, metadata={"help": help, "low": low})


@dataclass
class Config:
    """Every setting of a run. Each is a command-line flag of the same name (--batch-size for
    batch_size), saved in the report and in checkpoints, so a resumed run uses its own."""
    data_dir: str | None = option(None, "folder of the MNIST IDX files; without it $MNIST_DIR, "
                                        "else data/mnist/ (downloaded there if missing)")
    epochs: int = option(12, "passes over the training set", low=1)
    batch_size: int = option(128, "images per step", low=1)
    lr: float = option(3e-3, "peak learning rate of the one-cycle schedule (Adam)")
    weight_decay: float = option(0.0, "decoupled (AdamW) weight decay")
    label_smoothing: float = option(0.0, "target 1 - s on the label and s/10 on every class")
    ema: float = option(0.0, "evaluate and keep a moving average of the weights with this "
                             "decay per step instead of the last ones (0: the last ones)")
    workers: int = option(os.cpu_count() or 1, "threads a training step runs on, each with "
                                               "slices of the batch (nn.fast.DataParallel)", low=1)
    hidden: int = option(256, "units of the CNN's hidden layer", low=1)
    dropout: float = option(0.25, "dropout before the last layer (half of it after the "
                                 "convolutions)")
    augment: bool = option(True, "random slant, size and pen on every training batch")
    synthetic: float = option(0.3, "add this fraction of digits drawn in styles MNIST lacks "
                                   "(training/synthetic.py)")
    unipen_dir: str | None = option(None, "folder of UNIPEN's train.jsonl.gz and test.jsonl.gz; "
                                          "without it $UNIPEN_DIR, else data/unipen/ or "
                                          "../shared/unipen/, else MNIST only")
    unipen_copies: int = option(1, "drawings of each UNIPEN training digit, each by a random "
                                   "hand (0: no UNIPEN)", low=0)
    unipen_holdout: str = option(VALIDATION, "UNIPEN training writers kept out of training for "
                                        "validation: K/N keeps those whose id hashes to K mod N "
                                        "(scripts/crossval.py runs every K)")
    pendigits_dir: str | None = option(None, "folder of pendigits' train.jsonl.gz and "
                                             "test.jsonl.gz; without it $PENDIGITS_DIR, else "
                                             "data/pendigits/ or ../shared/pendigits/, else none")
    pendigits_copies: int = option(2, "drawings of each pendigits training digit, "
                                   "each by a random hand (0: no pendigits)", low=0)
    pendigits_smooth: float = option(0.5, "share of those drawings whose coarse 100 ms "
                                          "polylines are first smoothed into curves")
    pendigits_holdout: str = option(VALIDATION, "pendigits training writers kept out of training "
                                                "for validation, as --unipen-holdout")
    drawings: str | None = option(None, "also train on the drawings people labelled on the page: "
                                        "serve.py's --db (a SQLite file or postgresql:// URL)")
    seed: int = option(0, "seed of every random choice: the same seed, the same run")
    limit: int | None = option(None, "train on the first N training images only (smoke runs)",
                               low=1)
    val_size: int = option(5000, "the last N training images are the validation split", low=1)
    out: str = option("weights/mnist_cnn.npz", "where the weights go (.npz); the report, plots "
                                               "and checkpoint go beside it")


class TrainingError(Exception):
    """A problem the user can fix: bad data, bad arguments, a missing checkpoint."""


def parse_args(argv=None) -> tuple[Config, bool]:
    """The Config the command line asks for, and whether to resume."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for f in dataclasses.fields(Config):
        flag = "--" + f.name.replace("_", "-")
        if f.type is bool:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default,
                           help=f.metadata["help"])
        else:  # int, float, str, or "X | None": parse as X
            kind = next((t for t in typing.get_args(f.type) if t is not type(None)), f.type)
            p.add_argument(flag, type=kind, default=f.default, help=f.metadata["help"])
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    args = vars(p.parse_args(argv))
    resume = args.pop("resume")
    config = Config(**args)
    for f in dataclasses.fields(Config):
        value, low = getattr(config, f.name), f.metadata["low"]
        if low is not None and value is not None and value < low:
            p.error(f"--{f.name.replace('_', '-')} must be at least {low}, got {value}")
    if not config.lr > 0:
        p.error(f"--lr must be positive, got {config.lr}")
    if not 0 <= config.label_smoothing < 1:
        p.error(f"--label-smoothing must be in [0, 1), got {config.label_smoothing}")
    if not 0 <= config.dropout < 1:
        p.error(f"--dropout must be in [0, 1), got {config.dropout}")
    if not 0 <= config.synthetic <= 1:
        p.error(f"--synthetic must be in [0, 1], got {config.synthetic}")
    if not 0 <= config.ema < 1:
        p.error(f"--ema must be in [0, 1), got {config.ema}")
    if not config.out.endswith(".npz"):
        p.error(f"--out must end in .npz, got {config.out}")
    if not 0 <= config.pendigits_smooth <= 1:
        p.error(f"--pendigits-smooth must be in [0, 1], got {config.pendigits_smooth}")
    for name in ("unipen_holdout", "pendigits_holdout"):
        try:
            parse_holdout(getattr(config, name))
        except ValueError as e:
            p.error(f"--{name.replace('_', '-')}: {e}")
    return config, resume


def one_cycle(step: int, total: int, peak: float, warmup: float = 0.15) -> float:
    """Learning rate at `step`: a linear warm-up from peak/20 over the first 15% of the steps,
    then a cosine decay to peak/1000 (Smith & Topin 2018, "Super-Convergence")."""
    up = max(1, int(warmup * total))
    if step < up:
        return peak * (0.05 + 0.95 * step / up)
    t = (step - up) / max(1, total - up)
    return peak * (1e-3 + (1 - 1e-3) * 0.5 * (1 + np.cos(np.pi * t)))


@dataclass
class Data:
    """Images float32 (N, 1, 28, 28) in 0..1 and labels int64 (N,) of every split; the UNIPEN
    and pendigits ones are None without them."""
    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_unipen_val: np.ndarray | None = None
    y_unipen_val: np.ndarray | None = None
    unipen_dir: Path | None = None
    x_pendigits_val: np.ndarray | None = None
    y_pendigits_val: np.ndarray | None = None
    pendigits_dir: Path | None = None
    drawings_upto: int = 0  # the last id of the labelled drawings added (0 without --drawings)


def load_data(config: Config, drawings_upto: int | None = None) -> Data:
    """MNIST's splits, the drawn digits, UNIPEN's training writers when they are there, and the
    drawings people labelled with --drawings (only those up to id drawings_upto when a resumed
    run asks: the ones it had, however many were labelled since)."""
    folder = ensure_mnist(resolve_data_dir(config.data_dir))
    images, labels = nn.data.load_mnist(folder, "train")
    test_images, test_labels = nn.data.load_mnist(folder, "test")
    if config.val_size >= len(images):
        raise TrainingError(f"--val-size {config.val_size} leaves no training images")
    n_train = len(images) - config.val_size
    if config.limit:
        n_train = min(n_train, config.limit)

    def scale(u8):
        return (u8.astype(np.float32) / 255.0)[:, None]  # (N, 28, 28) -> (N, 1, 28, 28)

    data = Data(scale(images[:n_train]), labels[:n_train].astype(np.int64),
                scale(images[-config.val_size:]), labels[-config.val_size:].astype(np.int64),
                scale(test_images), test_labels.astype(np.int64))
    # Each source draws with its own generator, seeded from the run's seed: a resumed run
    # redraws exactly the same digits, and the data-order generator is not disturbed.
    n_synthetic = round(config.synthetic * n_train)
    if n_synthetic:
        drawn, drawn_labels = synthetic_digits(n_synthetic, np.random.default_rng([config.seed, 1]))
        data.x = np.concatenate([data.x, drawn[:, None]])
        data.y = np.concatenate([data.y, drawn_labels])
        print(f"added {n_synthetic:,} drawn digits in styles MNIST lacks (training/synthetic.py)")
    if config.unipen_copies:
        add_unipen(data, config)
    if config.pendigits_copies:
        add_pendigits(data, config)
    if config.drawings:
        try:
            labelled, labelled_y, data.drawings_upto = read_drawings(config.drawings,
                                                                     drawings_upto)
        except StoreError as e:
            raise TrainingError(str(e)) from None
        data.x = np.concatenate([data.x, labelled[:, None]])
        data.y = np.concatenate([data.y, labelled_y])
        print(f"added {len(labelled_y):,} drawings labelled on the page ({config.drawings}, "
              f"ids up to {data.drawings_upto})")
    return data


def add_unipen(data: Data, config: Config) -> None:
    """Add UNIPEN's training writers (each digit drawn unipen_copies times) to data.x, and its
    validation writers (drawn once, from their strokes) as data.x_unipen_val."""
    folder = resolve_unipen_dir(config.unipen_dir)
    if folder is None or not (folder / "train.jsonl.gz").is_file():
        where = folder or "--unipen-dir, $UNIPEN_DIR, data/unipen/ or ../shared/unipen/"
        print(f"UNIPEN not found ({where}): training without real writers' pen digits")
        return
    # IBM's writers are left out (training.unipen.NOISY_LABS: labels that are stroke fragments)
    data.x_unipen_val, data.y_unipen_val = add_pen_writers(
        data, config, _loaded(load_unipen, folder),
        config.unipen_copies, config.unipen_holdout, np.random.default_rng([config.seed, 2]),
        "UNIPEN", "UNIPEN, doi:10.5281/zenodo.1195803")
    data.unipen_dir = folder


def add_pendigits(data: Data, config: Config) -> None:
    """Add pendigits' training writers (each digit drawn pendigits_copies times, a share
    pendigits_smooth of the drawings smoothed first) to data.x, and its validation writers (drawn
    once, from their strokes as they are) as data.x_pendigits_val."""
    folder = resolve_pendigits_dir(config.pendigits_dir)
    if folder is None or not (folder / "train.jsonl.gz").is_file():
        where = folder or "--pendigits-dir, $PENDIGITS_DIR, data/pendigits/ or ../shared/pendigits/"
        print(f"pendigits not found ({where}): training without its writers")
        return
    data.x_pendigits_val, data.y_pendigits_val = add_pen_writers(
        data, config, _loaded(load_pendigits, folder), config.pendigits_copies,
        config.pendigits_holdout, np.random.default_rng([config.seed, 3]), "pendigits",
        PENDIGITS_CREDIT, smooth=config.pendigits_smooth)
    data.pendigits_dir = folder


def _loaded(load, folder: Path) -> list:
    try:
        return load(folder, "train")
    except (OSError, ValueError) as e:
        raise TrainingError(str(e)) from None


def add_pen_writers(data: Data, config: Config, pen_digits: list, copies: int, holdout: str,
                    rng: np.random.Generator, name: str, credit: str, smooth: float = 0.0,
                    ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Add the digits of one pen source's training writers outside ``holdout`` to data.x, each
    drawn ``copies`` times by random hands (a share ``smooth`` of the drawings smoothed first);
    return its held-out writers' digits drawn once from their strokes, (x, y), or (None, None)
    when there are none (a --limit run)."""
    if config.limit:
        pen_digits = pen_digits[:config.limit]
    train, val = split_writers(pen_digits, holdout)
    drawn = []
    for _ in range(copies):
        strokes = [d.strokes for d in train]
        if smooth:
            chosen = rng.random(len(train)) < smooth
            strokes = [smooth_strokes(s) if c else s for s, c in zip(strokes, chosen)]
        drawn.append(handwriting_images(strokes, rng).reshape(-1, 28, 28))
    drawn = np.concatenate(drawn)
    data.x = np.concatenate([data.x, drawn[:, None]])
    data.y = np.concatenate([data.y, np.tile([d.label for d in train], copies)])
    print(f"added {len(drawn):,} drawings of {len(train):,} {name} digits by "
          f"{len({d.writer for d in train})} writers; {len(val):,} digits of "
          f"{len({d.writer for d in val})} other writers for validation ({credit})")
    if not val:
        return None, None
    return (np.stack([strokes_to_mnist(list(d.strokes)) for d in val])[:, None],
            np.array([d.label for d in val], dtype=np.int64))


UNIPEN_CREDIT = ("UNIPEN train_r01_v07 isolated digits (Guyon et al., ICPR 1994; "
                 "doi:10.5281/zenodo.1195803, CC BY 4.0)")


def accuracy(model, x, y) -> float:
    return float((model.predict(x).argmax(axis=1) == y).mean())


def unsure_threshold(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The top probability under which the page says "not sure", set from real writers: the
    level that flags the most more wrong answers than right ones on UNIPEN's validation writers
    (the lowest such level on ties, and never under an even chance, 0.5; 0.6 without them)."""
    if probabilities is None:
        return 0.6
    top, right = probabilities.max(axis=1), probabilities.argmax(axis=1) == labels
    levels = np.round(np.arange(0.5, 0.96, 0.01), 2)
    gain = [int((~right[top < t]).sum()) - int(right[top < t].sum()) for t in levels]
    return float(levels[int(np.argmax(gain))])


def pen_test(model, folder: Path | None, load, name: str, credit: str) -> dict:
    """One pen source's test writers, sent as strokes (for the report; never used for a choice):
    {"<name>_test_accuracy", "<name>_credit"}, or {} without the source."""
    if folder is None:
        return {}
    digits = load(folder, "test")
    x = np.stack([strokes_to_mnist(list(d.strokes)) for d in digits])[:, None]
    return {f"{name}_test_accuracy": accuracy(model, x, np.array([d.label for d in digits])),
            f"{name}_credit": credit}


# ----------------------------------------------------------------------------- checkpoints
def checkpoint_path(out: Path) -> Path:
    return out.with_name(out.stem + ".ckpt.npz")


def save_checkpoint(path, trainer, optimiser, ema, rng, run: dict) -> None:
    """Everything a run needs to continue bit for bit: the model's and the optimiser's own
    state (weights, Adam's moments, dropout's generators, and those of the model's replicas on
    the other threads), the data-order generator, and the run so far (its config, the epochs
    done, their history)."""
    nn.save_state(path, {"model": trainer.model.state_dict(), "parallel": trainer.state_dict(),
                         "optimiser": optimiser.state_dict(), "rng": rng.bit_generator.state,
                         "run": run, **({"ema": ema.state_dict()} if ema else {})})


def read_checkpoint(path: Path) -> dict:
    """The saved state, or a TrainingError saying why the file cannot be used."""
    if not path.is_file():
        raise TrainingError(f"no checkpoint at {path} to resume from: run without --resume "
                            "to start training")
    try:
        state = nn.load_state(path)
    except ValueError as e:
        raise TrainingError(f"cannot resume from {e}") from None
    if not {"model", "optimiser", "rng", "run"} <= set(state):
        raise TrainingError(f"cannot resume from {path}: it is not a checkpoint of train.py; "
                            "delete it to start afresh")
    return state


def restore_checkpoint(path, state, trainer, optimiser, ema, rng) -> dict:
    """Copy a checkpoint read by read_checkpoint into a fresh model, optimiser and generator."""
    try:
        trainer.model.load_state_dict(state["model"])
    except ValueError as e:
        raise TrainingError(f"cannot resume from {path}: {e}; delete it to start afresh") from None
    if "parallel" in state:
        trainer.load_state_dict(state["parallel"])
    optimiser.load_state_dict(state["optimiser"])
    if ema:
        ema.load_state_dict(state["ema"])
    rng.bit_generator.state = state["rng"]
    return state["run"]


# ----------------------------------------------------------------------------- the loop
class Progress:
    """One line per epoch that rewrites itself: done/total, images/s, ETA, running loss."""

    def __init__(self, label: str, total: int):
        self.label, self.total, self.start, self.last = label, total, time.perf_counter(), 0.0
        self.live = sys.stderr.isatty()

    def update(self, done: int, loss: float) -> None:
        now = time.perf_counter()
        if not self.live or (now - self.last < 0.2 and done < self.total):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        eta = (self.total - done) / max(rate, 1e-9)
        bar = "#" * int(24 * done / self.total)
        print(f"\r{self.label} [{bar:<24}] {done:>6}/{self.total} {rate:6.0f} img/s "
              f"ETA {eta:4.0f}s loss {loss:.4f}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.live:
            print("\r" + " " * 100 + "\r", end="", file=sys.stderr, flush=True)


def train_epoch(trainer, optimiser, ema, x, y, config: Config, rng, epoch, steps_per_epoch):
    n, total_steps = len(x), config.epochs * steps_per_epoch
    progress = Progress(f"epoch {epoch + 1}/{config.epochs}", n)
    loss_fn = functools.partial(nn.softmax_cross_entropy, smoothing=config.label_smoothing)
    loss_sum = correct = seen = 0
    for step, idx in enumerate(nn.data.minibatches(n, config.batch_size, rng)):
        optimiser.lr = one_cycle(epoch * steps_per_epoch + step, total_steps, config.lr)
        xb, yb = x[idx], y[idx]
        if config.augment:
            xb = augment_batch(xb[:, 0], rng)[:, None]        # (B, 28, 28) -> (B, 1, 28, 28)
        # forward, loss and backward, the batch's slices spread over config.workers threads
        loss, logits = trainer.forward_backward(xb, yb, loss_fn)
        optimiser.step()
        if ema:
            ema.update()
        loss_sum += loss * len(idx)
        correct += int((logits.argmax(axis=1) == yb).sum())
        seen += len(idx)
        progress.update(seen, loss_sum / seen)
    progress.close()
    return loss_sum / seen, correct / seen, seen / (time.perf_counter() - progress.start)


def main(argv=None) -> int:
    config, resume = parse_args(argv)
    try:
        return run(config, resume, argv)
    except (TrainingError, nn.data.IDXError, DownloadError, FileNotFoundError) as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ntrain.py: interrupted. Continue with: "
              f"python train.py --resume --out {config.out}", file=sys.stderr)
        return 130


def run(config: Config, resume: bool, argv) -> int:
    started = time.time()
    out = Path(config.out)
    ckpt = checkpoint_path(out)
    if resume:
        saved = read_checkpoint(ckpt)
        # the run's own settings, not today's defaults; only where the data lives may change
        config = Config(**{**saved["run"]["config"], "data_dir": config.data_dir,
                           "unipen_dir": config.unipen_dir,
                           "pendigits_dir": config.pendigits_dir})

    data = load_data(config, saved["run"].get("drawings_upto") if resume else None)
    x, y = data.x, data.y
    model = nn.fast.cnn(seed=config.seed, dropout=config.dropout, hidden=config.hidden)
    optimiser = nn.fast.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    trainer = nn.fast.DataParallel(model, workers=config.workers)
    ema = nn.EMA(model.parameters(), decay=config.ema) if config.ema else None
    rng = np.random.default_rng(config.seed)
    state = {"epoch": 0, "history": [], "config": dataclasses.asdict(config),
             "drawings_upto": data.drawings_upto}
    if resume:
        state = restore_checkpoint(ckpt, saved, trainer, optimiser, ema, rng)
        print(f"resuming from {ckpt} after epoch {state['epoch']}/{config.epochs}")
    print(f"training on {len(x):,} images, validating on {len(data.x_val):,} MNIST digits; "
          f"{model.num_parameters():,} parameters; {config.epochs} epochs", flush=True)

    steps_per_epoch = -(-len(x) // config.batch_size)
    for epoch in range(state["epoch"], config.epochs):
        t0 = time.perf_counter()
        loss, train_acc, speed = train_epoch(trainer, optimiser, ema, x, y, config, rng, epoch,
                                             steps_per_epoch)
        if ema:
            ema.swap()  # validate the average, as it would be kept
        val_acc = accuracy(model, data.x_val, data.y_val)
        epoch_log = {"epoch": epoch + 1, "loss": loss, "train_accuracy": train_acc,
                     "val_accuracy": val_acc}
        unipen = ""
        if data.x_unipen_val is not None:
            epoch_log["unipen_val_accuracy"] = accuracy(model, data.x_unipen_val,
                                                        data.y_unipen_val)
            unipen = f"  UNIPEN val {epoch_log['unipen_val_accuracy']:.2%}"
        if data.x_pendigits_val is not None:
            epoch_log["pendigits_val_accuracy"] = accuracy(model, data.x_pendigits_val,
                                                           data.y_pendigits_val)
            unipen += f"  pendigits val {epoch_log['pendigits_val_accuracy']:.2%}"
        if ema:
            ema.swap()  # back to the live weights to go on training
        seconds = time.perf_counter() - t0
        state["history"].append({**epoch_log, "lr_end": optimiser.lr, "images_per_s": speed,
                                 "seconds": seconds})
        print(f"epoch {epoch + 1:>2}/{config.epochs}  loss {loss:.4f}  train {train_acc:.2%}  "
              f"val {val_acc:.2%}{unipen}  {speed:,.0f} img/s  {seconds:.1f}s", flush=True)
        state["epoch"] = epoch + 1
        save_checkpoint(ckpt, trainer, optimiser, ema, rng, state)

    if ema:
        ema.swap()  # the average is the model
    x_test, y_test = data.x_test, data.y_test
    test_pred = model.predict(x_test).argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test, test_pred), 1)
    report = {
        "command": "python " + " ".join([Path(sys.argv[0]).name] + list(
            sys.argv[1:] if argv is None else argv)),
        "config": state["config"],
        "seed": config.seed,
        "architecture": model.architecture(),
        "parameters": model.num_parameters(),
        "history": state["history"],
        "drawings_upto": state.get("drawings_upto", 0),
        "val_accuracy": state["history"][-1]["val_accuracy"],
        "test_accuracy": float((test_pred == y_test).mean()),
        "test_errors": int((test_pred != y_test).sum()),
        "confusion_matrix": confusion.tolist(),
        **pen_test(model, data.unipen_dir, load_unipen, "unipen", UNIPEN_CREDIT),
        **pen_test(model, data.pendigits_dir, load_pendigits, "pendigits", PENDIGITS_CREDIT),
        "unsure_below": unsure_threshold(
            None if data.x_unipen_val is None else model.predict(data.x_unipen_val),
            data.y_unipen_val),
        "wall_time_s": time.time() - started,
        "train_time_s": sum(h["seconds"] for h in state["history"]),
        "cpu": cpu_name(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    meta = {k: report[k] for k in ("test_accuracy", "val_accuracy", "unipen_test_accuracy",
                                   "pendigits_test_accuracy", "unsure_below", "command",
                                   "finished") if k in report}
    nn.save(model, out, meta={**meta, "report": out.with_suffix(".json").name})
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    plots = plot_all(report, x_test[:, 0], y_test, test_pred, out)
    ckpt.unlink(missing_ok=True)
    print(f"test accuracy {report['test_accuracy']:.2%} ({report['test_errors']} errors in "
          f"{len(y_test):,})" + (f"; UNIPEN test writers {report['unipen_test_accuracy']:.2%}"
                                 if "unipen_test_accuracy" in report else "")
          + (f"; pendigits test writers {report['pendigits_test_accuracy']:.2%}"
             if "pendigits_test_accuracy" in report else "")
          + f"; wall time {report['wall_time_s']:.0f}s")
    print(f"wrote {out}, {out.with_suffix('.json')}, " + ", ".join(str(p) for p in plots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
