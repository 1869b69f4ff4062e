"""Data parallelism: one training step on every core, with the layers unchanged.

    trainer = nn.DataParallel(model, workers=2)
    loss, logits = trainer.forward_backward(x, y)    # fills model's grads, as model.backward would
    optimiser.step()

The batch is cut into `workers` slices of consecutive images. Each slice goes forward and
backward on its own thread, through its own replica of the model (model.replica(): the same
parameter arrays, its own caches and grads), and the replicas' gradients are then averaged into
the model's own grads, each weighted by its share of the batch. The optimiser therefore sees
the gradient of the mean loss over the whole batch, as if one thread had done it all (up to
float32 rounding in a different order of summation).

Why threads can run at once here: a step's work is BLAS matrix multiplies and numba kernels
(nogil=True), and both release Python's GIL. Why BLAS gets one thread per caller meanwhile:
OpenBLAS runs one multi-threaded multiply at a time (a second caller waits for the first), and
its idle workers spin for a while after each one, taking the core another thread needs.
With one BLAS thread per slice, each core runs a whole slice (multiplies, im2col, pooling, ...)
and no core waits: measured on 2 cores, the default CNN's step at batch 128 took 27 ms this
way against 38 ms with one thread and two-threaded BLAS (bench.py).

The BLAS limit is set with threadpoolctl (a small pure-Python package that finds the BLAS
library NumPy loaded and calls its set_num_threads), only around the threaded part of a step,
so inference and everything else keep every BLAS thread. Without threadpoolctl the step still
runs on threads and gives the same numbers; it is just slower.

What this is not: a framework for distributed training. Only forward_backward is parallel;
the optimiser and the loss reduction stay plain, single-threaded NumPy.
"""

from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np

from .losses import softmax_cross_entropy
from .model import Sequential


class DataParallel:
    """Runs model.forward + loss + model.backward of a batch as `workers` slices on threads.

    replicas[0] is the model itself; replicas[1:] share its parameter arrays. `state_dict()`
    holds what the replicas own beyond the shared weights (their dropout generators), so a
    checkpoint continues a run exactly.
    """

    def __init__(self, model: Sequential, workers: int = 2):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.model = model
        self.replicas = [model]
        for _ in range(workers - 1):
            self.replicas.append(self.replicas[-1].replica())
        self.pool = ThreadPoolExecutor(workers - 1) if workers > 1 else None
        self.blas = _blas_controller() if workers > 1 else None

    def forward_backward(self, x: np.ndarray, y: np.ndarray, loss=softmax_cross_entropy
                         ) -> tuple[float, np.ndarray]:
        """Inputs: x (N, ...) a batch, y (N,) its labels; loss(logits, y) -> (loss, dlogits).
        Returns (mean loss over the batch, logits (N, K)); every layer of `model` has its grads."""
        N = len(x)
        bounds = np.linspace(0, N, len(self.replicas) + 1).round().astype(int)
        slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        if len(slices) == 1:  # one worker, or a batch too small to share
            return _one_slice(self.model, x, y, loss)
        replicas = self.replicas[:len(slices)]
        with self.blas.limit(limits=1, user_api="blas") if self.blas else nullcontext():
            # slice 0 on this thread while the others run on the pool
            futures = [self.pool.submit(_one_slice, r, x[s], y[s], loss)
                       for r, s in zip(replicas[1:], slices[1:])]
            results = [_one_slice(replicas[0], x[slices[0]], y[slices[0]], loss)]
            results += [f.result() for f in futures]
        # mean over the batch = the slices' means weighted by their sizes
        weights = [(s.stop - s.start) / N for s in slices]
        for i, (_, grads) in enumerate(self.model.parameters()):
            for name, g in grads.items():
                g *= weights[0]
                for r, w in zip(replicas[1:], weights[1:]):
                    g += w * r.parameters()[i][1][name]
        mean_loss = sum(w * value for w, (value, _) in zip(weights, results))
        return float(mean_loss), np.concatenate([logits for _, logits in results])

    def state_dict(self) -> dict:
        return {"replicas": [[layer.state_dict() for layer in r.layers] for r in self.replicas[1:]]}

    def load_state_dict(self, state: dict) -> None:
        for r, layer_states in zip(self.replicas[1:], state["replicas"]):
            for layer, own in zip(r.layers, layer_states):
                layer.load_state_dict(own)


def _one_slice(model, x, y, loss):
    logits = model.forward(x, train=True)
    value, dlogits = loss(logits, y)
    model.backward(dlogits)
    return value, logits


def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()

