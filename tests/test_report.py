"""training.report: the machine's name for reports, and a run's three plots as real PNGs."""

import numpy as np

from training.report import cpu_name, plot_all

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_cpu_name_names_a_processor():
    name = cpu_name()
    assert isinstance(name, str) and len(name) > 2


def test_plot_all_draws_curves_confusion_and_errors_beside_the_weights(tmp_path):
    history = [{"epoch": e, "loss": 1 / e, "train_accuracy": 0.9 + e / 100,
                "val_accuracy": 0.91 + e / 100} for e in (1, 2, 3)]
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9] * 3)
    predictions = labels.copy()
    predictions[[3, 14]] = [5, 7]  # two mistakes
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (labels, predictions), 1)
    report = {"history": history, "confusion_matrix": confusion.tolist()}
    images = np.random.default_rng(0).random((30, 28, 28))
    paths = plot_all(report, images, labels, predictions, tmp_path / "model.npz")
    assert [p.name for p in paths] == ["model_curves.png", "model_confusion.png",
                                       "model_errors.png"]
    for path in paths:
        assert path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 5000
