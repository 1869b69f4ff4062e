"""Layers: small classes that each know their forward pass and its derivative, in plain NumPy.

The one contract (CS231n's forward/backward with a cache, as small classes):
    out = layer.forward(x, train)   computes the output; in training it keeps in `layer.cache`
                                    what backward will need.
    dx = layer.backward(dout)       takes dL/dout, fills `layer.grads[name]` = dL/dparam for
                                    every `layer.params[name]`, and returns dL/dx.
    layer.config()                  the constructor arguments, so a saved model can be rebuilt.

Shapes use one vocabulary: N images, C channels, H x W pixels, F filters of KH x KW, D features.
Weights start He-normal (He et al. 2015): std = sqrt(2 / fan_in) keeps the variance of
activations roughly constant through layers followed by ReLU. Randomness comes from an explicit
`np.random.default_rng(seed)`.

What this file is not: fast, or an autograd engine. Each derivative is written by hand, and
gradcheck.py checks it; nn/fast holds the same layers on compiled kernels.
"""

import numpy as np


class Layer:
    """Base class: no parameters, nothing cached. Subclasses override forward/backward."""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.cache = None

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def config(self) -> dict:
        return {}

    def state_dict(self) -> dict:
        """What training changes besides params (Dropout's generator), for checkpoints."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.config().items())
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
        w = _rng(seed).normal(0.0, np.sqrt(2.0 / in_features), size=(in_features, out_features))
        self.params = {"w": w.astype(dtype), "b": np.zeros(out_features, dtype=dtype)}

    def forward(self, x, train=False):
        if train:
            self.cache = x
        return x @ self.params["w"] + self.params["b"]

    def backward(self, dout):
        x = self.cache
        self.grads["w"] = x.T @ dout          # (D_in, N) @ (N, D_out)
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["w"].T      # (N, D_out) @ (D_out, D_in)

    def config(self):
        return {"in_features": self.in_features, "out_features": self.out_features}


def conv_output_size(size: int, k: int, stride: int, pad: int) -> int:
    """How many positions a window of width k visits along a side of `size` pixels."""
    return (size + 2 * pad - k) // stride + 1


def im2col(x, KH, KW, stride, pad):
    """Unroll patches: x (N, C, H, W) -> cols (C*KH*KW, N*OH*OW).

    Column n*OH*OW + i*OW + j is the patch under output pixel (i, j) of image n, in (c, kh, kw)
    order: the order of w (F, C, KH, KW) flattened to (F, C*KH*KW), so that w_flat @ cols is
    the whole convolution. Padding reads as 0.
    """
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]             # (N, C, OH, OW, KH, KW)
    OH, OW = windows.shape[2], windows.shape[3]
    # (C, KH, KW, N, OH, OW) -> one column per output pixel
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * KH * KW, N * OH * OW)


def col2im(cols, N, C, H, W, KH, KW, stride, pad):
    """The adjoint of im2col: cols (C*KH*KW, N*OH*OW) -> dx (N, C, H, W), adding each
    patch's gradient back where the patch came from (patches overlap, so their sums meet)."""
    OH, OW = conv_output_size(H, KH, stride, pad), conv_output_size(W, KW, stride, pad)
    patches = cols.reshape(C, KH, KW, N, OH, OW)
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    for kh in range(KH):
        for kw in range(KW):
            # output pixel (i, j) saw padded pixel (i*stride + kh, j*stride + kw)
            dxp[:, :, kh:kh + stride * OH:stride, kw:kw + stride * OW:stride] += (
                patches[:, kh, kw].transpose(1, 0, 2, 3))   # (C, N, OH, OW) -> (N, C, OH, OW)
    return dxp[:, :, pad:pad + H, pad:pad + W].copy()       # the padding was no input: drop it


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as every framework computes it) by im2col.

    Inputs:  x (N, C, H, W)
    Params:  w (F, C, KH, KW), b (F,)  (KH = KW = kernel_size)
    Returns: out (N, F, OH, OW), OH = (H + 2*padding - KH) // stride + 1, likewise OW.
    Cache:   x and its patches cols.

    im2col copies every patch into a column, so the whole layer is ONE matrix multiply,
    (F, C*KH*KW) @ (C*KH*KW, N*OH*OW), which BLAS runs near the machine's peak. Backward is
    two more multiplies, dw = dout_rows @ cols^T and dcols = w^T @ dout_rows, and col2im.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, padding: int = 0, seed=0, dtype=np.float32):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        K = kernel_size
        w = _rng(seed).normal(0.0, np.sqrt(2.0 / (in_channels * K * K)),
                              size=(out_channels, in_channels, K, K))
        self.params = {"w": w.astype(dtype), "b": np.zeros(out_channels, dtype=dtype)}

    def forward(self, x, train=False):
        w, b = self.params["w"], self.params["b"]
        K, s, p = self.kernel_size, self.stride, self.padding
        N, F = x.shape[0], w.shape[0]
        OH, OW = conv_output_size(x.shape[2], K, s, p), conv_output_size(x.shape[3], K, s, p)
        cols = im2col(x, K, K, s, p)                          # (C*K*K, N*OH*OW)
        rows = w.reshape(F, -1) @ cols + b[:, None]           # (F, N*OH*OW)
        if train:
            self.cache = (x, cols)
        return rows.reshape(F, N, OH, OW).transpose(1, 0, 2, 3).copy()  # -> (N, F, OH, OW)

    def backward(self, dout):
        x, cols = self.cache
        w = self.params["w"]
        N, C, H, W = x.shape
        F, K = w.shape[0], self.kernel_size
        drows = dout.transpose(1, 0, 2, 3).reshape(F, -1)      # (N, F, OH, OW) -> (F, N*OH*OW)
        self.grads["w"] = (drows @ cols.T).reshape(w.shape)    # (F, C*K*K) -> (F, C, K, K)
        self.grads["b"] = drows.sum(axis=1)
        dcols = w.reshape(F, -1).T @ drows                     # (C*K*K, N*OH*OW)
        return col2im(dcols, N, C, H, W, K, K, self.stride, self.padding)

    def config(self):
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding}


class MaxPool2D(Layer):
    """Max over size x size windows, moving by `stride` (default: size, windows not overlapping).

    Inputs:  x (N, C, H, W)
    Returns: out (N, C, OH, OW), OH = (H - size) // stride + 1, likewise OW.
    Cache:   argmax, where in each window the maximum was (the first one on ties), and x's shape.
    The gradient of a max flows only to the element that won; the others get zero.
    """

    def __init__(self, size: int = 2, stride: int | None = None):
        super().__init__()
        self.size, self.stride = size, stride or size

    def forward(self, x, train=False):
        k, s = self.size, self.stride
        OH, OW = (x.shape[2] - k) // s + 1, (x.shape[3] - k) // s + 1
        # element (kh, kw) of every window at once: one strided slice each -> (k*k, N, C, OH, OW)
        windows = np.stack([x[:, :, kh:kh + s * OH:s, kw:kw + s * OW:s]
                            for kh in range(k) for kw in range(k)])
        argmax = windows.argmax(axis=0)                        # (N, C, OH, OW), first on ties
        if train:
            self.cache = (argmax, x.shape)
        return windows.max(axis=0)

    def backward(self, dout):
        argmax, shape = self.cache
        k, s = self.size, self.stride
        OH, OW = dout.shape[2:]
        dx = np.zeros(shape, dtype=dout.dtype)
        for kh in range(k):  # += : where windows overlap, a pixel can win more than one
            for kw in range(k):
                won = argmax == kh * k + kw                    # (N, C, OH, OW)
                dx[:, :, kh:kh + s * OH:s, kw:kw + s * OW:s] += np.where(won, dout, 0)
        return dx

    def config(self):
        return {"size": self.size, "stride": self.stride}


class ReLU(Layer):
    """out = max(x, 0). Cache: out itself, since dout passes exactly where out > 0."""

    def forward(self, x, train=False):
        out = np.maximum(x, 0)
        if train:
            self.cache = out
        return out

    def backward(self, dout):
        return dout * (self.cache > 0)


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
        self.cache = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self.cache

    def backward(self, dout):
        return dout * self.cache

    def config(self):
        return {"p": self.p}

    def state_dict(self):
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state):
        self.rng.bit_generator.state = state["rng"]


# The names a saved architecture may use; model.py rebuilds layers from these only.
LAYERS = {cls.__name__: cls for cls in (Dense, Conv2D, MaxPool2D, ReLU, Flatten, Dropout)}
