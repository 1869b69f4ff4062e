"""Train the digit classifier from scratch on MNIST, with nothing lost.

    python train.py                          # the committed model: the defaults in Config
    python train.py --limit 2000 --epochs 2  # a smoke run in seconds
    python train.py --resume                 # continue a killed run from its last checkpoint

Data comes from --data-dir, else $MNIST_DIR, else data/mnist/ (downloaded there and verified if
missing). The last 5,000 training images are held out for validation: every choice made while
training looks at them only. The 10,000 test images are scored once, at the end.

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
from digits.augment import augment_batch
from digits.mnist import DownloadError, ensure_mnist, resolve_data_dir
from digits.report import cpu_name, plot_all
from digits.synthetic import synthetic_digits


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
    workers: int = option(os.cpu_count() or 1, "threads a training step runs on, each with "
                                               "slices of the batch (nn.DataParallel)", low=1)
    dropout: float = option(0.25, "dropout before the last layer (half of it after the "
                                 "convolutions)")
    augment: bool = option(True, "random slant, size and pen on every training batch")
    synthetic: float = option(0.1, "add this fraction of digits drawn in styles MNIST lacks "
                                   "(digits/synthetic.py)")
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
    if not config.out.endswith(".npz"):
        p.error(f"--out must end in .npz, got {config.out}")
    return config, resume


def one_cycle(step: int, total: int, peak: float, warmup: float = 0.15) -> float:
    """Learning rate at `step`: a linear warm-up from peak/20 over the first 15% of the steps,
    then a cosine decay to peak/1000 (Smith & Topin 2018, "Super-Convergence")."""
    up = max(1, int(warmup * total))
    if step < up:
        return peak * (0.05 + 0.95 * step / up)
    t = (step - up) / max(1, total - up)
    return peak * (1e-3 + (1 - 1e-3) * 0.5 * (1 + np.cos(np.pi * t)))


def load_data(config: Config):
    """(x_train, y_train, x_val, y_val, x_test, y_test), images float32 (N, 1, 28, 28) in 0..1."""
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

    x, y = scale(images[:n_train]), labels[:n_train].astype(np.int64)
    n_synthetic = round(config.synthetic * n_train)
    if n_synthetic:
        # drawn with their own generator, seeded from the run's seed: a resumed run redraws
        # exactly the same digits, and the data-order generator is not disturbed
        drawn, drawn_labels = synthetic_digits(n_synthetic, np.random.default_rng([config.seed, 1]))
        x, y = np.concatenate([x, drawn[:, None]]), np.concatenate([y, drawn_labels])
        print(f"added {n_synthetic:,} drawn digits in styles MNIST lacks (digits/synthetic.py)")
    return (x, y, scale(images[-config.val_size:]), labels[-config.val_size:].astype(np.int64),
            scale(test_images), test_labels.astype(np.int64))


def accuracy(model, x, y) -> float:
    return float((model.predict(x).argmax(axis=1) == y).mean())


# ----------------------------------------------------------------------------- checkpoints
def checkpoint_path(out: Path) -> Path:
    return out.with_name(out.stem + ".ckpt.npz")


def save_checkpoint(path, trainer, optimiser, rng, run: dict) -> None:
    """Everything a run needs to continue bit for bit: the model's and the optimiser's own
    state (weights, Adam's moments, dropout's generators, and those of the model's replicas on
    the other threads), the data-order generator, and the run so far (its config, the epochs
    done, their history)."""
    nn.save_state(path, {"model": trainer.model.state_dict(), "parallel": trainer.state_dict(),
                         "optimiser": optimiser.state_dict(), "rng": rng.bit_generator.state,
                         "run": run})


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


def restore_checkpoint(path, state, trainer, optimiser, rng) -> dict:
    """Copy a checkpoint read by read_checkpoint into a fresh model, optimiser and generator."""
    try:
        trainer.model.load_state_dict(state["model"])
    except ValueError as e:
        raise TrainingError(f"cannot resume from {path}: {e}; delete it to start afresh") from None
    if "parallel" in state:
        trainer.load_state_dict(state["parallel"])
    optimiser.load_state_dict(state["optimiser"])
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


def train_epoch(trainer, optimiser, x, y, config: Config, rng, epoch, steps_per_epoch):
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
        config = Config(**{**saved["run"]["config"], "data_dir": config.data_dir})

    x, y, x_val, y_val, x_test, y_test = load_data(config)
    model = nn.cnn(seed=config.seed, dropout=config.dropout)
    optimiser = nn.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    trainer = nn.DataParallel(model, workers=config.workers)
    rng = np.random.default_rng(config.seed)
    state = {"epoch": 0, "history": [], "config": dataclasses.asdict(config)}
    if resume:
        state = restore_checkpoint(ckpt, saved, trainer, optimiser, rng)
        print(f"resuming from {ckpt} after epoch {state['epoch']}/{config.epochs}")
    print(f"training on {len(x):,} images, validating on {len(x_val):,}; "
          f"{model.num_parameters():,} parameters; {config.epochs} epochs", flush=True)

    steps_per_epoch = -(-len(x) // config.batch_size)
    for epoch in range(state["epoch"], config.epochs):
        t0 = time.perf_counter()
        loss, train_acc, speed = train_epoch(trainer, optimiser, x, y, config, rng, epoch,
                                             steps_per_epoch)
        val_acc = accuracy(model, x_val, y_val)
        seconds = time.perf_counter() - t0
        state["history"].append({"epoch": epoch + 1, "loss": loss, "train_accuracy": train_acc,
                                 "val_accuracy": val_acc, "lr_end": optimiser.lr,
                                 "images_per_s": speed, "seconds": seconds})
        print(f"epoch {epoch + 1:>2}/{config.epochs}  loss {loss:.4f}  train {train_acc:.2%}  "
              f"val {val_acc:.2%}  {speed:,.0f} img/s  {seconds:.1f}s", flush=True)
        state["epoch"] = epoch + 1
        save_checkpoint(ckpt, trainer, optimiser, rng, state)

    test_probs = model.predict(x_test)
    test_pred = test_probs.argmax(axis=1)
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
        "val_accuracy": state["history"][-1]["val_accuracy"],
        "test_accuracy": float((test_pred == y_test).mean()),
        "test_errors": int((test_pred != y_test).sum()),
        "confusion_matrix": confusion.tolist(),
        "wall_time_s": time.time() - started,
        "train_time_s": sum(h["seconds"] for h in state["history"]),
        "cpu": cpu_name(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    meta = {k: report[k] for k in ("test_accuracy", "val_accuracy", "command", "finished")}
    nn.save(model, out, meta={**meta, "report": out.with_suffix(".json").name})
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    plots = plot_all(report, x_test[:, 0], y_test, test_pred, out)
    ckpt.unlink(missing_ok=True)
    print(f"test accuracy {report['test_accuracy']:.2%} ({report['test_errors']} errors in "
          f"{len(y_test):,}); wall time {report['wall_time_s']:.0f}s")
    print(f"wrote {out}, {out.with_suffix('.json')}, " + ", ".join(str(p) for p in plots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
