"""Data parallelism: one training step on every core, with the layers unchanged.

    trainer = nn.fast.DataParallel(model, workers=2)
    loss, logits = trainer.forward_backward(x, y)    # fills model's grads, as model.backward would
    optimiser.step()

The batch is cut into slices of consecutive images (at most `slice_size`, at least one per
thread), dealt out to `workers` threads. Each thread runs its slices forward and backward,
one after another, through its own replica of the model (model.replica(chunk): the same
parameter arrays, its own caches and grads), and the slices' gradients are added into the
model's own grads, each weighted by its share of the batch. Slices of 32 rather than 64 images
keep a slice's activations in cache (measured: 12% less CPU time per image). The optimiser
therefore sees the gradient of the mean loss over the whole batch, as if one thread had done it
all (up to float32 rounding in a different order of summation).

Why threads can run at once here: a step's work is BLAS matrix multiplies and numba kernels
(nogil=True), and both release Python's GIL. Why BLAS gets one thread per caller meanwhile:
OpenBLAS runs one multi-threaded multiply at a time (a second caller waits for the first), and
its idle workers spin for a while after each one, taking the core another thread needs.
With one BLAS thread per slice, each core runs whole slices (multiplies, im2col, pooling, ...)
and no core waits. Each replica's convolutions take `chunk` images at a time (see
layers.Conv2D): with one BLAS thread, that is fastest, their unrolled patches staying in cache.
Measured on 2 shared cores, the default CNN's step at batch 128 against one thread with
two-threaded BLAS: 129 ms against 337 ms under heavy load from other jobs, 43.8 against
41.7 ms when one other job kept the second core mostly busy.

The BLAS limit is set with threadpoolctl (a small pure-Python package that finds the BLAS
library NumPy loaded and calls its set_num_threads), only around the threaded part of a step,
so inference and everything else keep every BLAS thread. Without threadpoolctl the step still
runs on threads and gives the same numbers; it is just slower.

What this is not: a framework for distributed training. Only forward_backward is parallel;
the optimiser and the loss reduction stay plain, single-threaded NumPy.
"""

import ctypes
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np

from ..losses import softmax_cross_entropy
from .model import Sequential


class DataParallel:
    """Runs model.forward + loss + model.backward of a batch as slices on `workers` threads.

    Each thread takes consecutive slices of at most `slice_size` images, one after another, and
    adds up their gradients; the threads' sums are added into the model's grads at the end.
    `model` is a nn.fast.Sequential; `replicas` share its parameter arrays, one per thread, and
    leave its own layers as they are. `state_dict()` holds what the replicas own beyond the
    shared weights (their dropout generators), so a checkpoint continues a run exactly.
    """

    def __init__(self, model: Sequential, workers: int = 2, slice_size: int = 32,
                 chunk: int = 4):
        if min(workers, slice_size, chunk) < 1:
            raise ValueError("workers, slice_size and chunk must be at least 1, got "
                             f"{workers}, {slice_size}, {chunk}")
        if not isinstance(model, Sequential):
            raise TypeError(f"DataParallel runs a nn.fast.Sequential, got {type(model).__name__}: "
                            "build it with nn.fast.cnn/mlp/load or nn.fast.Sequential([...])")
        self.model, self.slice_size = model, slice_size
        self.replicas = [model.replica(chunk)]
        for _ in range(workers - 1):  # each from the last: their dropout streams never meet
            self.replicas.append(self.replicas[-1].replica(chunk))
        self.pool = ThreadPoolExecutor(workers - 1) if workers > 1 else None
        self.blas = _blas_controller()
        _keep_freed_memory()

    def forward_backward(self, x: np.ndarray, y: np.ndarray, loss=softmax_cross_entropy
                         ) -> tuple[float, np.ndarray]:
        """Inputs: x (N, ...) a batch, y (N,) its labels; loss(logits, y) -> (loss, dlogits).
        Returns (mean loss over the batch, logits (N, K)); every layer of `model` has its grads."""
        N, workers = len(x), len(self.replicas)
        count = max(workers, -(-N // self.slice_size))            # slices, at least one per thread
        bounds = np.linspace(0, N, count + 1).round().astype(int)
        slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        per_thread = [slices[i::workers] for i in range(workers)]
        per_thread = [(r, s) for r, s in zip(self.replicas, per_thread) if s]
        with self.blas.limit(limits=1, user_api="blas") if self.blas else nullcontext():
            # the first share on this thread while the others run on the pool
            futures = [self.pool.submit(_run_slices, r, s, x, y, loss) for r, s in per_thread[1:]]
            results = [_run_slices(*per_thread[0], x, y, loss)] + [f.result() for f in futures]
        # the batch's mean = the slices' means weighted by their share of the batch
        total = results[0][0]
        for grads, _, _ in results[1:]:
            for t, g in zip(total, grads):
                t += g
        arrays = iter(total)
        for params, grads in self.model.parameters():
            for name in params:
                grads[name] = next(arrays)
        order = np.argsort([s.start for _, ss in per_thread for s in ss])
        losses = [(s.stop - s.start) / N * value
                  for (_, ss), (_, values, _) in zip(per_thread, results)
                  for s, value in zip(ss, values)]
        logits = [out for _, _, outs in results for out in outs]
        return float(sum(losses)), np.concatenate([logits[i] for i in order])

    def state_dict(self) -> dict:
        return {"replicas": [[layer.state_dict() for layer in r.layers] for r in self.replicas]}

    def load_state_dict(self, state: dict) -> None:
        for r, layer_states in zip(self.replicas, state["replicas"]):
            for layer, own in zip(r.layers, layer_states):
                layer.load_state_dict(own)


def _run_slices(model, slices, x, y, loss):
    """Forward and backward of each slice in turn through `model`. Returns (the gradients summed
    over the slices, each weighted by its share of the whole batch, as one list in the order of
    model.parameters(); each slice's loss; each slice's logits)."""
    total, values, logits = None, [], []
    for s in slices:
        out = model.forward(x[s], train=True)
        value, dout = loss(out, y[s])
        model.backward(dout)
        share = np.float32((s.stop - s.start) / len(x))
        grads = [grads[name] for params, grads in model.parameters() for name in params]
        if total is None:
            total = [share * g for g in grads]
        else:
            for t, g in zip(total, grads):
                t += share * g
        values.append(value)
        logits.append(out)
    return total, values, logits


def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def _keep_freed_memory():
    """Ask glibc's malloc to keep freed memory for the next step instead of returning it.

    A step allocates and frees the same few-MB arrays every slice; by default glibc hands such
    memory back to the kernel (each thread's arena trims itself), and the next step takes it
    back one page fault at a time: measured 3,100-3,700 faults and 8-9 ms of kernel time per
    step of the default CNN at batch 128, against 20 faults and 1-2 ms with this (about 15% of
    the step's CPU time). Linux with glibc only; elsewhere this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: trim only above 1 GiB of free memory
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: arrays up to 32 MiB from the heap
    except (OSError, AttributeError):
        pass
