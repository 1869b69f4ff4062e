"""The hot loops of nn.fast's layers, compiled with numba, each beside a plain NumPy twin.

Every kernel here is a module-level function with no state: arrays in, arrays out. The fast
version is decorated with `@njit(cache=True, nogil=True)`: compiled on first call, then
cached on disk, and free of Python's GIL while it runs, so that threads (parallel.py) run
kernels at once. Its twin, named `*_reference`, has the same signature and does the same thing
with NumPy alone (im2col's and col2im's are nn/layers.py's own), so that a test can assert the
two agree and a reader can learn from the slow one.
`NUMBA_DISABLE_JIT=1` turns the fast ones back into plain Python for a debugger.

What lives here, and why it needs compiling:
  im2col / col2im        unroll every KHxKW patch of an image into a column, so that a whole
                         convolution becomes one big matrix multiply (which BLAS does well);
                         col2im is its adjoint and scatters patch gradients back, adding
                         where patches overlap. Both are pure memory shuffling, slow as
                         Python loops and wasteful as fancy indexing.
  maxpool_forward/back   the max of each window and the position it came from; backward
                         routes the gradient to that position only.
  rows_to_nchw/back      the matrix multiply gives one row per filter (F, N*OH*OW); layers
                         speak (N, F, OH, OW). These change layout (and add the bias) in one
                         pass over memory.
  relu_forward/back      one pass instead of NumPy's two (compare, then select).

Conventions: float32 arrays, C-contiguous (their callers in nn/fast/layers.py make them so).
Convolutions have two more kernels of their own, each a module with its own explanation:
winograd.py (3x3 filters over many channels) and direct.py (3x3 filters over one channel);
Adam's update is one kernel beside Adam in nn/fast/optim.py.

Why no `prange`: the cores are used one level up. In training, DataParallel runs slices
of a batch on one thread per core, each with its own kernels and single-threaded BLAS, so a
kernel has its core to itself; inside a kernel, threads would only fight over it. (Before
that, with one thread and multi-threaded BLAS, a parallel numba loop lost to OpenBLAS's
workers, which spin for a while after each multiply: a multiply then a parallel im2col took
46 ms against 16 ms with a serial im2col.)
"""

import numpy as np
from numba import njit

from .. import layers

# The plain layers' im2col and col2im are these kernels' NumPy twins.
im2col_reference, col2im_reference = layers.im2col, layers.col2im
conv_output_size = layers.conv_output_size


# ----------------------------------------------------------------------------- im2col
@njit(cache=True, nogil=True)
def im2col(x, KH, KW, stride, pad):
    """Unroll patches: x (N, C, H, W) -> cols (C*KH*KW, N*OH*OW).

    Column n*OH*OW + i*OW + j holds the patch under output pixel (i, j) of image n, in
    (c, kh, kw) order: the order of a weight tensor (F, C, KH, KW) flattened to (F, C*KH*KW),
    so that w_flat @ cols is the convolution, (F, N*OH*OW). Padding reads as 0.

    Why this shape and loop order (measured: 2 ms instead of 10 ms for the default CNN's
    second layer at batch 128): patches go down the columns, so each row of cols is written
    start to end in one sequential stream while the innermost loop copies a run of
    neighbouring pixels, which the compiler turns into vector moves. The input is copied once
    into a zero-bordered buffer, so the loops need no bounds tests, and stride 1 gets its own
    loop because a unit step is what lets the compiler vectorise.
    """
    N, C, H, W = x.shape
    OH = (H + 2 * pad - KH) // stride + 1
    OW = (W + 2 * pad - KW) // stride + 1
    P = OH * OW
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
    xp[:, :, pad:pad + H, pad:pad + W] = x
    cols = np.empty((C * KH * KW, N * P), dtype=x.dtype)
    for c in range(C):
        for kh in range(KH):
            for kw in range(KW):
                dst = cols[(c * KH + kh) * KW + kw]
                for n in range(N):
                    for i in range(OH):
                        src = xp[n, c, i * stride + kh]
                        base = n * P + i * OW
                        if stride == 1:
                            for j in range(OW):
                                dst[base + j] = src[kw + j]
                        else:
                            for j in range(OW):
                                dst[base + j] = src[kw + j * stride]
    return cols


@njit(cache=True, nogil=True)
def col2im(cols, N, C, H, W, KH, KW, stride, pad):
    """Adjoint of im2col: cols (C*KH*KW, N*OH*OW) -> dx (N, C, H, W), summing overlaps.

    The same loop order as im2col, with += where it had =. Sums go into a zero-bordered
    buffer; what lands on the border is dropped, since the padding was a constant, not an input.
    """
    OH = (H + 2 * pad - KH) // stride + 1
    OW = (W + 2 * pad - KW) // stride + 1
    P = OH * OW
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    for c in range(C):
        for kh in range(KH):
            for kw in range(KW):
                src = cols[(c * KH + kh) * KW + kw]
                for n in range(N):
                    for i in range(OH):
                        dst = dxp[n, c, i * stride + kh]
                        base = n * P + i * OW
                        if stride == 1:
                            for j in range(OW):
                                dst[kw + j] += src[base + j]
                        else:
                            for j in range(OW):
                                dst[kw + j * stride] += src[base + j]
    return np.ascontiguousarray(dxp[:, :, pad:pad + H, pad:pad + W])


# ----------------------------------------------------------------------------- layout
@njit(cache=True, nogil=True)
def rows_to_nchw(y, b, N, OH, OW):
    """y (F, N*OH*OW) plus bias b (F,) -> out (N, F, OH, OW): one block copy per (n, f)."""
    F = y.shape[0]
    P = OH * OW
    out = np.empty((N, F, OH, OW), dtype=y.dtype)
    flat = out.reshape(N, F, P)
    for n in range(N):
        for f in range(F):
            flat[n, f, :] = y[f, n * P:(n + 1) * P] + b[f]
    return out


def rows_to_nchw_reference(y, b, N, OH, OW):
    """NumPy twin of `rows_to_nchw`."""
    F = y.shape[0]
    return (y.reshape(F, N, OH, OW) + b[:, None, None, None]).transpose(1, 0, 2, 3).copy()


@njit(cache=True, nogil=True)
def nchw_to_rows(dout):
    """dout (N, F, OH, OW) -> (F, N*OH*OW): the layout the matrix multiplies of backward want."""
    N, F, OH, OW = dout.shape
    P = OH * OW
    rows = np.empty((F, N * P), dtype=dout.dtype)
    flat = dout.reshape(N, F, P)
    for n in range(N):
        for f in range(F):
            rows[f, n * P:(n + 1) * P] = flat[n, f, :]
    return rows


def nchw_to_rows_reference(dout):
    """NumPy twin of `nchw_to_rows`."""
    N, F, OH, OW = dout.shape
    return dout.transpose(1, 0, 2, 3).reshape(F, N * OH * OW).copy()


# ----------------------------------------------------------------------------- max pooling
@njit(cache=True, nogil=True)
def maxpool_forward(x, size, stride):
    """x (N, C, H, W) -> (out (N, C, OH, OW), argmax (N, C, OH, OW) int32).

    argmax holds the flat offset kh*size + kw of the winner inside its window (the first one
    on ties), which is all backward needs. The common 2x2, stride 2 case has its own loop.
    """
    if size == 2 and stride == 2:
        return _maxpool2x2_forward(x)
    N, C, H, W = x.shape
    OH = (H - size) // stride + 1
    OW = (W - size) // stride + 1
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = np.empty((N, C, OH, OW), dtype=np.int32)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    best = x[n, c, i * stride, j * stride]
                    where = 0
                    for kh in range(size):
                        for kw in range(size):
                            v = x[n, c, i * stride + kh, j * stride + kw]
                            if v > best:  # strict: the first maximum wins ties
                                best = v
                                where = kh * size + kw
                    out[n, c, i, j] = best
                    argmax[n, c, i, j] = where
    return out, argmax


@njit(cache=True, nogil=True)
def _maxpool2x2_forward(x):
    """maxpool_forward for 2x2 windows, stride 2, without a single branch in the inner loop.

    Which of four values wins is unpredictable, and a mispredicted branch costs more than the
    comparisons: written with max() and selects this runs 8x faster (0.7 ms against 5.6 ms for
    the first pooling layer of the default CNN at batch 128).
    """
    N, C, H, W = x.shape
    OH, OW = H // 2, W // 2
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = np.empty((N, C, OH, OW), dtype=np.int32)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                top, bottom = x[n, c, 2 * i], x[n, c, 2 * i + 1]
                o, a = out[n, c, i], argmax[n, c, i]
                for j in range(OW):
                    v0, v1 = top[2 * j], top[2 * j + 1]        # offsets 0, 1
                    v2, v3 = bottom[2 * j], bottom[2 * j + 1]  # offsets 2, 3
                    upper, lower = max(v0, v1), max(v2, v3)
                    o[j] = max(upper, lower)
                    # strict > everywhere: on ties the first offset wins, as in the general loop
                    a[j] = np.int32(2 + (v3 > v2)) if lower > upper else np.int32(v1 > v0)
    return out, argmax


def maxpool_forward_reference(x, size, stride):
    """NumPy twin of `maxpool_forward`, via a sliding-window view."""
    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]  # (N, C, OH, OW, size, size)
    flat = windows.reshape(windows.shape[:4] + (size * size,))
    argmax = flat.argmax(axis=-1).astype(np.int32)  # argmax takes the first max on ties
    out = np.take_along_axis(flat, argmax[..., None].astype(np.intp), axis=-1)[..., 0]
    return out, argmax


@njit(cache=True, nogil=True)
def maxpool_backward(dout, argmax, H, W, size, stride):
    """Route dout (N, C, OH, OW) to the winners: -> dx (N, C, H, W), zero elsewhere."""
    if size == 2 and stride == 2 and H % 2 == 0 and W % 2 == 0:
        return _maxpool2x2_backward(dout, argmax)
    N, C, OH, OW = dout.shape
    dx = np.zeros((N, C, H, W), dtype=dout.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                d, a = dout[n, c, i], argmax[n, c, i]
                for j in range(OW):
                    h = i * stride + a[j] // size
                    w = j * stride + a[j] % size
                    dx[n, c, h, w] += d[j]  # += : windows overlap when stride < size
    return dx


@njit(cache=True, nogil=True)
def _maxpool2x2_backward(dout, argmax):
    """maxpool_backward for 2x2 windows, stride 2, even H and W: every dx element is written
    exactly once (the gradient or 0), so dx needs no zeroing pass and the loop no branches."""
    N, C, OH, OW = dout.shape
    dx = np.empty((N, C, 2 * OH, 2 * OW), dtype=dout.dtype)
    zero = dout.dtype.type(0)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                d, a = dout[n, c, i], argmax[n, c, i]
                top, bottom = dx[n, c, 2 * i], dx[n, c, 2 * i + 1]
                for j in range(OW):
                    top[2 * j] = d[j] if a[j] == 0 else zero
                    top[2 * j + 1] = d[j] if a[j] == 1 else zero
                    bottom[2 * j] = d[j] if a[j] == 2 else zero
                    bottom[2 * j + 1] = d[j] if a[j] == 3 else zero
    return dx


def maxpool_backward_reference(dout, argmax, H, W, size, stride):
    """NumPy twin of `maxpool_backward`."""
    N, C, OH, OW = dout.shape
    dx = np.zeros((N, C, H, W), dtype=dout.dtype)
    n, c, i, j = np.indices((N, C, OH, OW))
    h = i * stride + argmax // size
    w = j * stride + argmax % size
    np.add.at(dx, (n, c, h, w), dout)
    return dx


# ----------------------------------------------------------------------------- ReLU
@njit(cache=True, nogil=True)
def relu_forward(x):
    """max(x, 0) elementwise, any shape (flattened internally)."""
    flat = x.reshape(-1)
    out = np.empty_like(flat)
    for k in range(flat.size):
        v = flat[k]
        out[k] = v if v > 0 else 0.0
    return out.reshape(x.shape)


def relu_forward_reference(x):
    """NumPy twin of `relu_forward`."""
    return np.maximum(x, 0)


@njit(cache=True, nogil=True)
def relu_backward(dout, out):
    """dout where the ReLU let its input through (out > 0), else 0."""
    d = dout.reshape(-1)
    o = out.reshape(-1)
    dx = np.empty_like(d)
    for k in range(d.size):
        dx[k] = d[k] if o[k] > 0 else 0.0
    return dx.reshape(dout.shape)


def relu_backward_reference(dout, out):
    """NumPy twin of `relu_backward`."""
    return np.where(out > 0, dout, 0).astype(dout.dtype)

