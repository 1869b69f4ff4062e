"""What a run reports besides its numbers: the machine it ran on, and its pictures.

`cpu_name()` names the processor for reports and benchmarks. The plots (curves, confusion matrix,
misclassified digits) use Matplotlib with the Agg backend (files only, no screen); each function
takes plain data and a path and returns the path, so a notebook can call them too.
"""

import os
import platform
from pathlib import Path

import numpy as np


def cpu_name() -> str:
    """The processor's model name and core count, e.g. "AMD EPYC 7B13 (2 cores)"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only), imported when a picture is drawn:
    Matplotlib takes about half a second to import, which nothing but a plot needs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history: list[dict], path: Path) -> Path:
    """Training loss, and train/validation accuracy per epoch (UNIPEN's and pendigits'
    validation writers too, when the run had them)."""
    plt = pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(epochs, [h["loss"] for h in history], "o-", color="#3366aa")
    left.set(title="training loss (augmented batches)", xlabel="epoch", ylabel="cross-entropy")
    left.set_yscale("log")
    right.plot(epochs, [100 * h["train_accuracy"] for h in history], "o-",
               label="train (augmented)")
    right.plot(epochs, [100 * h["val_accuracy"] for h in history], "o-", label="validation (MNIST)")
    for key, source in (("unipen_val_accuracy", "UNIPEN"), ("pendigits_val_accuracy", "pendigits")):
        if all(h.get(key) is not None for h in history):
            right.plot(epochs, [100 * h[key] for h in history], "o-",
                       label=f"validation ({source} writers)")
    right.set(title="accuracy", xlabel="epoch", ylabel="%")
    right.set_ylim(max(90.0, min(100 * h["train_accuracy"] for h in history) - 0.5), 100)
    right.legend(loc="lower right")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_confusion(confusion: list[list[int]], path: Path) -> Path:
    """Test-set confusion matrix; the diagonal is greyed so the mistakes stand out."""
    plt = pyplot()
    c = np.array(confusion)
    off = c.copy()
    np.fill_diagonal(off, 0)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    ax.imshow(off, cmap="Reds")
    for i in range(10):
        for j in range(10):
            if c[i, j]:
                ax.text(j, i, c[i, j], ha="center", va="center", fontsize=7,
                        color="#999999" if i == j else "black")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true",
           title=f"test confusion matrix ({off.sum()} errors)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_errors(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray, path: Path,
                limit: int = 60) -> Path:
    """A grid of misclassified test digits, each titled 'true -> predicted'."""
    plt = pyplot()
    wrong = np.flatnonzero(labels != predictions)[:limit]
    cols = 10
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.0, rows * 1.15), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), wrong):
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{labels[i]} → {predictions[i]}", fontsize=8)
    fig.suptitle(f"misclassified test digits ({len(wrong)} shown of "
                 f"{int((labels != predictions).sum())}): true → predicted", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_all(report: dict, images, labels, predictions, out: Path) -> list[Path]:
    """All three, named after the weights file: <stem>_curves.png, _confusion.png, _errors.png."""
    out = Path(out)
    stem = out.with_suffix("")
    return [plot_curves(report["history"], Path(f"{stem}_curves.png")),
            plot_confusion(report["confusion_matrix"], Path(f"{stem}_confusion.png")),
            plot_errors(images, labels, predictions, Path(f"{stem}_errors.png"))]
