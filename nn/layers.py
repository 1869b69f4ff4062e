"""Layers: small classes that each know their forward pass and its derivative.

The one contract every layer keeps
----------------------------------
    out = layer.forward(x, train)   computes the output and keeps in `layer.cache` what backward
                                    will need (only when train is True: inference keeps nothing).
    dx = layer.backward(dout)       takes dL/dout, fills `layer.grads[name]` = dL/dparam for every
                                    `layer.params[name]`, and returns dL/dx.
    layer.params, layer.grads       dicts of arrays with the same names and shapes.
    layer.config()                  the constructor arguments, so a saved model can be rebuilt.
    layer.state_dict()              what else training changes besides params (Dropout's random
    layer.load_state_dict(state)    generator), so a checkpoint can continue a run exactly.
    layer.input_grad                True by default. The first layer of a model has no one to
                                    pass dx to, so Sequential sets it False there, and layers
                                    whose dx costs real work (Conv2D, Dense) then return None
                                    instead of computing it (PyTorch's requires_grad, in small).
    layer.chunk                     None by default: training takes the whole batch at once.
                                    nn.DataParallel sets it on the layers of its replicas, each
                                    run by a thread with one BLAS thread, and layers that unroll
                                    images into big matrices (Conv2D) then go `chunk` images at
                                    a time, so those matrices stay in the core's cache.
    twin = layer.replica()          a copy that shares `params` (the very same arrays, so one
                                    update moves both) but keeps its own cache, grads and
                                    random state: what each thread of data-parallel training
                                    (parallel.py) runs its slice of the batch through.

A model (model.py) is a list of these; its backward walks the same list in reverse. Nothing
outside this file special-cases a layer type. This is CS231n's forward/backward-with-cache
convention, written as small classes.

Shapes use one vocabulary: N images in a batch, C channels, H x W pixels, F filters of
KH x KW, D features. Images are (N, C, H, W) ("NCHW"), as in the MNIST contract (N, 1, 28, 28).

Initialisation draws from an explicit `np.random.default_rng(seed)`: He (Kaiming) normal for
layers followed by ReLU, std = sqrt(2 / fan_in), which keeps the variance of activations
roughly constant from layer to layer (He et al. 2015, "Delving Deep into Rectifiers").

What this file is not: an autograd engine. Each derivative is written by hand, and
gradcheck.py is how we know each one is right.
"""

import copy

import numpy as np

from . import direct, kernels, winograd


class Layer:
    """Base class: no parameters, nothing cached. Subclasses override forward/backward."""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.cache = None
        self.input_grad = True
        self.chunk: int | None = None

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def config(self) -> dict:
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def replica(self) -> "Layer":
        twin = copy.copy(self)  # shallow: twin.params is this layer's dict of arrays
        twin.grads, twin.cache = {}, None
        return twin

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.config().items() if k != "seed")
        return f"{type(self).__name__}({args})"


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


class Dense(Layer):
    """Fully connected: out = x @ w + b.

    Inputs:  x (N, D_in)
    Params:  w (D_in, D_out), b (D_out,)
    Returns: out (N, D_out)
    Cache:   x, because dL/dw = x^T @ dout.
    """

    def __init__(self, in_features: int, out_features: int, seed=0, dtype=np.float32):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        std = np.sqrt(2.0 / in_features)  # He initialisation
        w = _rng(seed).normal(0.0, std, size=(in_features, out_features))
        self.params = {"w": w.astype(dtype), "b": np.zeros(out_features, dtype=dtype)}

    def forward(self, x, train=False):
        if train:
            self.cache = x
        return x @ self.params["w"] + self.params["b"]

    def backward(self, dout):
        x = self.cache
        self.grads["w"] = x.T @ dout          # (D_in, N) @ (N, D_out)
        self.grads["b"] = dout.sum(axis=0)
        if not self.input_grad:
            return None
        return dout @ self.params["w"].T      # (N, D_out) @ (D_out, D_in)

    def config(self):
        return {"in_features": self.in_features, "out_features": self.out_features}


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as every framework computes it) with stride and padding.

    Inputs:  x (N, C, H, W)
    Params:  w (F, C, KH, KW), b (F,)
    Returns: out (N, F, OH, OW), OH = (H + 2*padding - KH) // stride + 1, likewise OW.
    Cache:   x, and its patches when they were unrolled all at once (see chunk below), or
             the filters' Winograd transform U.

    Three ways to compute it, picked by shape, giving the same numbers up to float32 rounding
    (measured on one core, forward and backward of 32 images, for the default CNN's layers):
      im2col    any shape. Copies every patch into a column, so the whole convolution is ONE
                matrix multiply w_flat @ cols of shape (F, n*OH*OW), which BLAS runs near the
                machine's peak. Backward is two more multiplies and col2im, the adjoint of
                im2col, which adds each patch's gradient back where the patch came from.
      Winograd  3x3 filters, stride 1, padding 1, even height and width, at least 8 input
                channels (winograd.py): 2.25x fewer multiplies. Second layer: 6.3 -> 3.1 ms.
                With fewer channels its transforms cost more than the multiplies they save.
      direct    one input channel, 3x3 filters, stride 1 (direct.py): the 9 multiply-adds per
                pixel as loops, too few for a matrix multiply to pay. First layer, which needs
                no dx: 1.1 -> 0.5 ms. Asked for dx, backward goes the im2col way.

    With `chunk` set (nn.DataParallel does), training goes a few images at a time: the patches
    of a whole batch are large (29 MB for the default CNN's second layer at batch 128), and
    every pass over them went to main memory; those of 4 images fit in a core's L2 cache, and
    the multiplies are still big enough for the one BLAS thread each of DataParallel's threads
    has. Backward then unrolls the patches again rather than keeping them (x is 1/9 of their
    size). Without it, and always at inference, the whole batch is one multiply, which BLAS
    spreads over every core: chunks that small would make BLAS's threads meet for every one of
    them (measured: 4x slower for 2,560 images). Winograd goes in chunks the same way.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, padding: int = 0, seed=0, dtype=np.float32):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        fan_in = in_channels * kernel_size * kernel_size
        w = _rng(seed).normal(0.0, np.sqrt(2.0 / fan_in),
                              size=(out_channels, in_channels, kernel_size, kernel_size))
        self.params = {"w": w.astype(dtype), "b": np.zeros(out_channels, dtype=dtype)}

    def forward(self, x, train=False):
        w, b = self.params["w"], self.params["b"]
        F, K, s, p = self.out_channels, self.kernel_size, self.stride, self.padding
        x = np.ascontiguousarray(x)
        N, C, H, W = x.shape
        how = self._algorithm(x.shape)
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

    def backward(self, dout):
        x, kept = self.cache
        w = self.params["w"]
        dout = np.ascontiguousarray(dout)
        how = self._algorithm(x.shape)
        if how == "winograd":
            self.grads["w"], self.grads["b"], dx = winograd.conv3x3_backward(
                x, kept, dout, self.chunk, self.input_grad)
            return dx
        if how == "direct" and not self.input_grad:
            self.grads["w"], self.grads["b"] = direct.conv3x3_backward(x, dout, self.padding)
            return None
        F, K, s, p = self.out_channels, self.kernel_size, self.stride, self.padding
        N, C, H, W = x.shape
        cols = kept if how == "im2col" else None
        w_flat = w.reshape(F, -1)                                      # (F, C*K*K)
        dw, db = np.zeros_like(w_flat), np.zeros_like(self.params["b"])
        dx = np.empty_like(x) if self.input_grad else None
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

    def _algorithm(self, shape) -> str:
        """"direct", "winograd" or "im2col" for inputs of this shape (see the docstring)."""
        C, H, W = shape[1:]
        if C == 1 and self.kernel_size == 3 and self.stride == 1:
            return "direct"
        if C >= 8 and winograd.fits(self.kernel_size, self.stride, self.padding, H, W):
            return "winograd"
        return "im2col"

    def config(self):
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding}


class MaxPool2D(Layer):
    """Max over size x size windows, moving by `stride` (default: size, so windows do not overlap).

    Inputs:  x (N, C, H, W)
    Returns: out (N, C, OH, OW), OH = (H - size) // stride + 1
    Cache:   argmax, where in each window the maximum was (int32, same shape as out), and H, W.
    The gradient of a max flows only to the element that won; the others get zero.
    """

    def __init__(self, size: int = 2, stride: int | None = None):
        super().__init__()
        self.size, self.stride = size, stride or size

    def forward(self, x, train=False):
        out, argmax = kernels.maxpool_forward(np.ascontiguousarray(x), self.size, self.stride)
        if train:
            self.cache = (argmax, x.shape[2], x.shape[3])
        return out

    def backward(self, dout):
        argmax, H, W = self.cache
        return kernels.maxpool_backward(np.ascontiguousarray(dout), argmax, H, W,
                                        self.size, self.stride)

    def config(self):
        return {"size": self.size, "stride": self.stride}


class ReLU(Layer):
    """out = max(x, 0). Cache: out itself, since dout passes exactly where out > 0."""

    def forward(self, x, train=False):
        out = kernels.relu_forward(np.ascontiguousarray(x))
        if train:
            self.cache = out
        return out

    def backward(self, dout):
        return kernels.relu_backward(np.ascontiguousarray(dout), self.cache)


class Flatten(Layer):
    """(N, C, H, W) -> (N, C*H*W). Backward reshapes the gradient back; cache: the input shape."""

    def forward(self, x, train=False):
        if train:
            self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self.cache)


class Dropout(Layer):
    """Inverted dropout (Srivastava et al. 2014): in training, zero each value with probability p
    and scale the survivors by 1/(1-p), so inference is the identity and needs no rescaling.

    Cache: the mask, already scaled, so backward is one multiply.
    The layer owns its random generator; `state_dict` carries its state into checkpoints.
    """

    def __init__(self, p: float = 0.5, seed=0):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.rng = _rng(seed)

    def forward(self, x, train=False):
        if not train or self.p == 0.0:
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        self.cache = mask
        return x * mask

    def backward(self, dout):
        return dout * self.cache

    def config(self):
        return {"p": self.p}

    def state_dict(self):
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state):
        self.rng.bit_generator.state = state["rng"]

    def replica(self):
        twin = super().replica()
        # its own masks: this generator's stream jumped ahead by 2**127 draws (never overlaps)
        twin.rng = np.random.Generator(self.rng.bit_generator.jumped())
        return twin


# The names a saved architecture may use; model.py rebuilds layers from these only.
LAYERS = {cls.__name__: cls for cls in (Dense, Conv2D, MaxPool2D, ReLU, Flatten, Dropout)}
