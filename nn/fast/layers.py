"""nn's layers on compiled kernels: each a subclass of its plain twin in nn/layers.py, with the
same params, config and results (up to float32 rounding), and two speed-only additions:

    dx = layer.backward(dout, input_grad=True)   input_grad=False skips dx and returns None:
                                    the first layer of a model has no one to pass it to
                                    (fast.Sequential asks for that), and for Conv2D and Dense
                                    it is a third of backward's work.
    twin = layer.replica(chunk)     a copy that shares `params` (the very same arrays, so one
                                    update moves both) but keeps its own cache, grads and
                                    random state, and takes `chunk` images at a time in
                                    training: what each thread of DataParallel runs.

Conv2D computes by one of three algorithms, chosen by its `algorithm` argument ("auto" picks
by shape, see Conv2D). What this file is not: new mathematics; the plain twins say what each
layer computes, and tests/test_fast_layers.py holds the two equal.
"""

import copy

import numpy as np

from .. import layers as plain
from . import direct, kernels, winograd

ALGORITHMS = ("auto", "im2col", "direct", "winograd")


class Fast:
    """What every fast layer adds to its plain twin: replica(chunk), backward(dout, input_grad)."""

    chunk: int | None = None  # images at a time in training; None: the whole batch at once

    def replica(self, chunk: int | None = None):
        twin = copy.copy(self)  # shallow: twin.params is this layer's dict of arrays
        twin.grads, twin.cache, twin.chunk = {}, None, chunk
        return twin


class Dense(Fast, plain.Dense):
    __doc__ = plain.Dense.__doc__

    def backward(self, dout, input_grad=True):
        x = self.cache
        self.grads["w"] = x.T @ dout          # (D_in, N) @ (N, D_out)
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["w"].T if input_grad else None


class Conv2D(Fast, plain.Conv2D):
    """nn.layers.Conv2D by one of three algorithms, the same numbers up to float32 rounding
    (measured on one core, forward and backward of 32 images, for the default CNN's layers):
      im2col    any shape: numba's im2col/col2im (kernels.py) around the same multiplies.
      winograd  3x3 filters, stride 1, padding 1, even H and W (winograd.py): 2.25x fewer
                multiplies. Second layer: 6.3 -> 3.1 ms. Under 8 input channels its transforms
                cost more than the multiplies they save.
      direct    one input channel, 3x3 filters, stride 1 (direct.py): the 9 multiply-adds per
                pixel as loops, too few for a matrix multiply to pay. First layer, without dx:
                1.1 -> 0.5 ms. Asked for dx, backward goes the im2col way.
    algorithm="auto" (the default) takes direct for one channel, winograd from 8 channels where
    it fits, im2col otherwise. An algorithm that does not fit the input raises ValueError.

    With `chunk` set (DataParallel's replicas), training goes `chunk` images at a time: the
    patches of a whole batch are large (29 MB for the default CNN's second layer at batch 128)
    and every pass over them went to main memory; those of 4 images fit in a core's L2 cache,
    and the multiplies are still big enough for a thread's one BLAS thread. Backward then
    unrolls them again rather than keeping them (x is 1/9 of their size). Without it, and
    always at inference, the batch is one multiply, which BLAS spreads over every core.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, padding: int = 0, seed=0, dtype=np.float32,
                 algorithm: str = "auto", chunk: int | None = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, seed, dtype)
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
        self.algorithm, self.chunk = algorithm, chunk

    def algorithm_for(self, shape) -> str:
        """"direct", "winograd" or "im2col": what computes inputs of this shape (N, C, H, W)."""
        C, H, W = shape[1:]
        K, s, p = self.kernel_size, self.stride, self.padding
        fits = {"im2col": True, "direct": C == 1 and K == 3 and s == 1,
                "winograd": winograd.fits(K, s, p, H, W)}
        if self.algorithm != "auto":
            if not fits[self.algorithm]:
                raise ValueError(f"Conv2D(algorithm={self.algorithm!r}) cannot take inputs of "
                                 f"shape {tuple(shape)} with {K}x{K} filters, stride {s}, "
                                 f"padding {p}: use algorithm='auto' or 'im2col'")
            return self.algorithm
        if fits["direct"]:
            return "direct"
        return "winograd" if C >= 8 and fits["winograd"] else "im2col"

    def forward(self, x, train=False):
        w, b = self.params["w"], self.params["b"]
        F, K, s, p = self.out_channels, self.kernel_size, self.stride, self.padding
        x = np.ascontiguousarray(x)
        N, C, H, W = x.shape
        how = self.algorithm_for(x.shape)
        if how == "direct":
            if train:
                self.cache = (x, None)
            return direct.conv3x3_forward(x, w, b, p)
        if how == "winograd":
            u = winograd.weight_transform(w)                           # (16, C, F)
            if train:
                self.cache = (x, u)
            return winograd.conv3x3_forward(x, u, b, self.chunk if train else None)
        OH, OW = kernels.conv_output_size(H, K, s, p), kernels.conv_output_size(W, K, s, p)
        w_flat = w.reshape(F, -1)                                      # (F, C*K*K)
        out = np.empty((N, F, OH, OW), dtype=x.dtype)
        chunk = (self.chunk if train else None) or max(N, 1)
        for n in range(0, N, chunk):
            xn = x[n:n + chunk]                                        # (n, C, H, W)
            cols = kernels.im2col(xn, K, K, s, p)                      # (C*K*K, n*OH*OW)
            out[n:n + chunk] = kernels.rows_to_nchw(w_flat @ cols, b, len(xn), OH, OW)
        if train:  # the patches too when they are of the whole batch: backward needs them
            self.cache = (x, cols if chunk >= N else None)
        return out

    def backward(self, dout, input_grad=True):
        x, kept = self.cache
        w = self.params["w"]
        dout = np.ascontiguousarray(dout)
        how = self.algorithm_for(x.shape)
        if how == "winograd":
            self.grads["w"], self.grads["b"], dx = winograd.conv3x3_backward(
                x, kept, dout, self.chunk, input_grad)
            return dx
        if how == "direct" and not input_grad:
            self.grads["w"], self.grads["b"] = direct.conv3x3_backward(x, dout, self.padding)
            return None
        F, K, s, p = self.out_channels, self.kernel_size, self.stride, self.padding
        N, C, H, W = x.shape
        cols = kept if how == "im2col" else None
        w_flat = w.reshape(F, -1)                                      # (F, C*K*K)
        dw, db = np.zeros_like(w_flat), np.zeros_like(self.params["b"])
        dx = np.empty_like(x) if input_grad else None
        chunk = self.chunk or max(N, 1)
        for n in range(0, N, chunk):
            xn = x[n:n + chunk]
            if cols is None or chunk < N:
                cols = kernels.im2col(xn, K, K, s, p)                  # (C*K*K, n*OH*OW)
            drows = kernels.nchw_to_rows(dout[n:n + chunk])            # (F, n*OH*OW)
            dw += drows @ cols.T
            db += drows.sum(axis=1)
            if dx is not None:
                dcols = w_flat.T @ drows                               # (C*K*K, n*OH*OW)
                dx[n:n + chunk] = kernels.col2im(dcols, len(xn), C, H, W, K, K, s, p)
        self.grads["w"] = dw.reshape(w.shape)                          # (F, C*K*K) -> (F, C, K, K)
        self.grads["b"] = db
        return dx


class MaxPool2D(Fast, plain.MaxPool2D):
    __doc__ = plain.MaxPool2D.__doc__

    def forward(self, x, train=False):
        out, argmax = kernels.maxpool_forward(np.ascontiguousarray(x), self.size, self.stride)
        if train:
            self.cache = (argmax, x.shape)
        return out

    def backward(self, dout, input_grad=True):
        argmax, shape = self.cache
        return kernels.maxpool_backward(np.ascontiguousarray(dout), argmax, shape[2], shape[3],
                                        self.size, self.stride)


class ReLU(Fast, plain.ReLU):
    __doc__ = plain.ReLU.__doc__

    def forward(self, x, train=False):
        out = kernels.relu_forward(np.ascontiguousarray(x))
        if train:
            self.cache = out
        return out

    def backward(self, dout, input_grad=True):
        return kernels.relu_backward(np.ascontiguousarray(dout), self.cache)


class Flatten(Fast, plain.Flatten):
    __doc__ = plain.Flatten.__doc__

    def backward(self, dout, input_grad=True):
        return super().backward(dout)


class Dropout(Fast, plain.Dropout):
    __doc__ = plain.Dropout.__doc__

    def backward(self, dout, input_grad=True):
        return super().backward(dout)

    def replica(self, chunk=None):
        twin = super().replica(chunk)
        # its own masks: this generator's stream jumped ahead by 2**127 draws (never overlaps)
        twin.rng = np.random.Generator(self.rng.bit_generator.jumped())
        return twin


# The same names as nn.layers.LAYERS: a weights file loads into either.
LAYERS = {cls.__name__: cls for cls in (Dense, Conv2D, MaxPool2D, ReLU, Flatten, Dropout)}
