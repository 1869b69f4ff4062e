"""Where a training step's time goes: each layer's forward and backward, on one core.

    python -m scripts.profile_step                 # the committed CNN, slices of 32, 64 images
    python -m scripts.profile_step --images 128 --slice 128

Runs what one thread of nn.fast.DataParallel runs (one BLAS thread, layers in chunks, the images
as slices one after another) and reports the CPU time of this thread per layer, the median
over repeats, so that other jobs on the machine disturb it less than wall-clock time; then
Adam's step over the whole model.
"""

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

import nn
import nn.fast


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=64, help="images one thread handles per step")
    p.add_argument("--slice", type=int, default=32, help="images per slice (DataParallel)")
    p.add_argument("--chunk", type=int, default=4, help="images per convolution multiply")
    p.add_argument("--hidden", type=int, default=256, help="the CNN's hidden units (train.py's)")
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)

    rng = np.random.default_rng(0)
    x = rng.random((args.images, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, args.images)
    trainer = nn.fast.DataParallel(nn.fast.cnn(seed=0, hidden=args.hidden), workers=1,
                                   chunk=args.chunk)  # keeps freed memory, as in training
    model = trainer.replicas[0]  # what its one thread runs: convolutions in chunks
    clock = time.thread_time
    forward = np.zeros((args.repeats, len(model.layers)))
    backward = np.zeros_like(forward)

    def one_step(r):
        for start in range(0, args.images, args.slice):
            h = x[start:start + args.slice]
            for i, layer in enumerate(model.layers):
                t0 = clock()
                h = layer.forward(h, train=True)
                forward[r, i] += clock() - t0
            _, d = nn.softmax_cross_entropy(h, y[start:start + args.slice])
            for i in reversed(range(len(model.layers))):
                t0 = clock()
                d = model.layers[i].backward(d, input_grad=i > 0)
                backward[r, i] += clock() - t0

    with threadpool_limits(1, user_api="blas"):
        one_step(0)  # warm-up: numba compiles or loads its cache
        forward[:], backward[:] = 0, 0
        for r in range(args.repeats):
            one_step(r)
        print(f"{args.images} images in slices of {args.slice}, convolutions in chunks of "
              f"{args.chunk}, one core: CPU ms, median of {args.repeats} repeats")
        for i, layer in enumerate(model.layers):
            name = f"{type(layer).__name__} {' '.join(map(str, layer.config().values()))}"
            print(f"  {i:>2} {name:<24} forward {1e3 * np.median(forward[:, i]):6.2f}  "
                  f"backward {1e3 * np.median(backward[:, i]):6.2f}")
        print(f"  all layers: forward {1e3 * np.median(forward.sum(1)):.2f}, "
              f"backward {1e3 * np.median(backward.sum(1)):.2f}")

        for _, grads in model.parameters():  # gradients in place for Adam
            for g in grads.values():
                g[...] = rng.normal(size=g.shape)
        adam, times = nn.fast.Adam(model.parameters()), []
        for _ in range(10 * args.repeats):
            t0 = clock()
            adam.step()
            times.append(clock() - t0)
        print(f"  Adam over {model.num_parameters():,} parameters: {1e3 * np.median(times):.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
