"""Winograd convolution: a 3x3 convolution with 2.25x fewer multiplies than im2col's.

What Winograd is. Slide a 3-tap filter g over 4 inputs d and you get 2 outputs; done plainly,
that is 6 multiplies. Winograd's minimal filtering algorithm F(2, 3) gets the same 2 outputs
with 4: transform d (adds only), transform g (once per filter), multiply the two transforms
elementwise, transform back (adds only). In matrices,

    y = A^T [(G g) * (B^T d)]          (* elementwise; B^T 4x4, G 4x3, A^T 2x4, below)

and nested in two dimensions, F(2x2, 3x3) turns a 4x4 input tile into a 2x2 output tile with
16 multiplies instead of 36:

    Y = A^T [(G g G^T) * (B^T d B)] A

A convolution layer sums over input channels C and has F filters, and the elementwise product
summed over channels is a matrix multiply. So, with T tiles of 2x2 outputs (tiles of input
overlap by 2 pixels), the layer is (Lavin & Gray 2016, "Fast Algorithms for Convolutional
Neural Networks", section 4):

    U = G w G^T      per filter and channel           -> U (16, F, C)
    V = B^T d B      per input tile and channel       -> V (16, C, T)
    M[xi] = U[xi] @ V[xi]   for each of the 16 points xi of a 4x4 tile -> M (16, F, T)
    Y = A^T M A      per output tile and filter, plus the bias

16 matrix multiplies of (F, C) @ (C, T) instead of im2col's one (F, 9C) @ (9C, 4T): 16*C
multiply-adds per output pixel instead of 36*C. Every step is linear, so backward is the
same algebra transposed: dM = A dY A^T; dU[xi] = dM[xi] @ V[xi]^T, dw = G^T dU G;
dV[xi] = U[xi]^T @ dM[xi], and dx = B dV B^T, overlap-added where the tiles overlap.
The result is exact, not an approximation: the same numbers as im2col up to float32 rounding
(F(2x2, 3x3)'s transforms hold only 0, +-1 and +-1/2, so that rounding is small; bigger tiles,
such as F(4x4, 3x3), save more multiplies but lose digits).

What this module is not: a general convolution. It takes 3x3 filters, stride 1, padding 1 and
an even image height and width (the default CNN's two convolutions); Conv2D uses im2col for
anything else. The transforms of inputs and gradients are numba kernels, each beside a NumPy
twin named `*_reference` with the same signature (tests/test_kernels.py holds them equal); the
filters' transforms are a few thousand numbers and stay NumPy. No `prange`, for kernels.py's
reason: nn.DataParallel already runs one thread per core.
"""

import numpy as np
from numba import njit

# The matrices of F(2, 3) (Lavin & Gray 2016, section 4.1).
BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)


def fits(kernel_size: int, stride: int, padding: int, H: int, W: int) -> bool:
    """Whether a convolution of this shape is one this module computes."""
    return kernel_size == 3 and stride == 1 and padding == 1 and H % 2 == 0 and W % 2 == 0


def planes(rows: int, T: int, dtype) -> np.ndarray:
    """An empty (16, rows, T) array for V, M or their gradients, each of the 16 planes
    contiguous, but the planes one cache line more than a multiple of 4 KiB apart.

    Why: the transforms read or write all 16 planes at once, and planes whose distance is a
    multiple of 4 KiB fall into the same few sets of the L1 cache, which holds 12 lines per
    set. Measured on the default CNN's second convolution, output_transform_backward of 16
    images (packed, its planes are 196 KiB apart): 1.6 ms packed, 0.22 ms spaced.
    """
    size = rows * T
    stride = -(-size // 1024) * 1024 + 16      # whole 4 KiB of float32, plus one line
    return np.empty((16, stride), dtype=dtype)[:, :size].reshape(16, rows, T)


# ----------------------------------------------------------------------------- filters
# G w G^T for every filter and channel at once: one multiply by the Kronecker product
# G (x) G (16x9), whose row 4*i + j holds G[i, k] * G[j, l] at column 3*k + l.
GG = np.kron(G, G)


def weight_transform(w: np.ndarray) -> np.ndarray:
    """U = G w G^T: w (F, C, 3, 3) -> U (16, F, C), point xi = 4*i + j of the 4x4 transform."""
    F, C = w.shape[:2]
    return (GG.astype(w.dtype) @ w.reshape(F * C, 9).T).reshape(16, F, C)


def weight_transform_backward(du: np.ndarray) -> np.ndarray:
    """dw = G^T dU G, the adjoint of weight_transform: dU (16, F, C) -> dw (F, C, 3, 3)."""
    _, F, C = du.shape
    return (du.reshape(16, F * C).T @ GG.astype(du.dtype)).reshape(F, C, 3, 3)


# ----------------------------------------------------------------------------- inputs
@njit(cache=True, nogil=True)
def input_transform(x, v):
    """V = B^T d B for every 4x4 tile d of the zero-padded input: x (N, C, H, W) -> written
    into v (16, C, T), T = N*H*W/4.

    Tile t = n*TH*TW + i*TW + j (TH = H/2, TW = W/2) starts at row 2i, column 2j of the padded
    image, so neighbouring tiles overlap by 2. Each image is copied once into a buffer with a
    zero border, then transformed a row of tiles at a time, channel by channel: rows first
    (B^T d, whole rows of pixels at once), then the columns of each tile (.. B). A row of tiles
    of every channel is what one pass writes, which stays in the L1 cache whatever the strides
    of v (backward passes a transposed view, see conv3x3_backward).
    """
    N, C, H, W = x.shape
    TH, TW = H // 2, W // 2
    P = TH * TW
    xp = np.zeros((C, H + 2, W + 2), dtype=x.dtype)  # the border stays 0: the padding
    t = np.empty((4, W + 2), dtype=x.dtype)
    for n in range(N):
        xp[:, 1:H + 1, 1:W + 1] = x[n]
        for i in range(TH):
            base = n * P + i * TW
            for c in range(C):
                r0, r1, r2, r3 = xp[c, 2 * i], xp[c, 2 * i + 1], xp[c, 2 * i + 2], xp[c, 2 * i + 3]
                for k in range(W + 2):  # B^T d: rows
                    t[0, k] = r0[k] - r2[k]
                    t[1, k] = r1[k] + r2[k]
                    t[2, k] = r2[k] - r1[k]
                    t[3, k] = r1[k] - r3[k]
                for a in range(4):  # (B^T d) B: columns, 4 points per row a
                    ta = t[a]
                    for j in range(TW):
                        d0, d1, d2, d3 = ta[2 * j], ta[2 * j + 1], ta[2 * j + 2], ta[2 * j + 3]
                        v[4 * a, c, base + j] = d0 - d2
                        v[4 * a + 1, c, base + j] = d1 + d2
                        v[4 * a + 2, c, base + j] = d2 - d1
                        v[4 * a + 3, c, base + j] = d1 - d3


def _tiles(xp):
    """The 4x4 tiles, 2 apart, of padded images xp (N, C, 2TH+2, 2TW+2): (N, C, TH, TW, 4, 4)."""
    return np.lib.stride_tricks.sliding_window_view(xp, (4, 4), axis=(2, 3))[:, :, ::2, ::2]


def input_transform_reference(x, v):
    """NumPy twin of `input_transform`: pad, view the tiles, B^T d B as one einsum."""
    N, C, H, W = x.shape
    tiles = _tiles(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))))
    bt = BT.astype(x.dtype)
    tv = np.einsum("ia,ncpqab,jb->ijcnpq", bt, tiles, bt)      # (4, 4, C, N, TH, TW)
    v[...] = tv.reshape(16, C, N * (H // 2) * (W // 2))


@njit(cache=True, nogil=True)
def input_transform_backward(dv, dx):
    """The adjoint of input_transform: dx = B dV B^T per tile, overlap-added, padding dropped.

    dv (16, C, T) -> written into dx (N, C, H, W), which gives the shape. What lands on the
    zero border of the padded plane is dropped: the padding was a constant, not an input.
    """
    N, C, H, W = dx.shape
    TH, TW = H // 2, W // 2
    P = TH * TW
    dxp = np.empty((H + 2, W + 2), dtype=dx.dtype)
    e = np.empty((4, 4), dtype=dx.dtype)
    for n in range(N):
        for c in range(C):
            dxp[:] = 0
            for i in range(TH):
                base = n * P + i * TW
                for j in range(TW):
                    for a in range(4):  # dV B^T: columns of row a
                        u0, u1 = dv[4 * a, c, base + j], dv[4 * a + 1, c, base + j]
                        u2, u3 = dv[4 * a + 2, c, base + j], dv[4 * a + 3, c, base + j]
                        e[a, 0] = u0
                        e[a, 1] = u1 - u2 + u3
                        e[a, 2] = u1 + u2 - u0
                        e[a, 3] = -u3
                    for b in range(4):  # B (dV B^T): rows, added where the tile came from
                        dxp[2 * i, 2 * j + b] += e[0, b]
                        dxp[2 * i + 1, 2 * j + b] += e[1, b] - e[2, b] + e[3, b]
                        dxp[2 * i + 2, 2 * j + b] += e[1, b] + e[2, b] - e[0, b]
                        dxp[2 * i + 3, 2 * j + b] -= e[3, b]
            dx[n, c] = dxp[1:H + 1, 1:W + 1]


def input_transform_backward_reference(dv, dx):
    """NumPy twin of `input_transform_backward`: B dV B^T per tile, then one strided add per
    tile offset (a, b)."""
    N, C, H, W = dx.shape
    TH, TW = H // 2, W // 2
    bt = BT.astype(dv.dtype)
    tiles = np.einsum("ia,ijcnpq,jb->ncpqab", bt, dv.reshape(4, 4, C, N, TH, TW), bt)
    dxp = np.zeros((N, C, H + 2, W + 2), dtype=dv.dtype)
    for a in range(4):
        for b in range(4):
            dxp[:, :, a:a + H:2, b:b + W:2] += tiles[..., a, b]
    dx[...] = dxp[:, :, 1:H + 1, 1:W + 1]


# ----------------------------------------------------------------------------- outputs
@njit(cache=True, nogil=True)
def output_transform(m, b, out):
    """Y = A^T M A + bias for every tile: m (16, F, T), b (F,) -> written into out (N, F, OH, OW).

    Each 4x4 point set of a tile becomes its 2x2 outputs at rows 2i, 2i+1, columns 2j, 2j+1.
    """
    N, F, OH, OW = out.shape
    TH, TW = OH // 2, OW // 2
    P = TH * TW
    for n in range(N):
        for f in range(F):
            bias = b[f]
            for i in range(TH):
                base = n * P + i * TW
                top, bottom = out[n, f, 2 * i], out[n, f, 2 * i + 1]
                for j in range(TW):
                    t = base + j
                    # A^T M: rows 0 and 1 of 2, for each of the 4 columns k
                    s00 = m[0, f, t] + m[4, f, t] + m[8, f, t]
                    s01 = m[1, f, t] + m[5, f, t] + m[9, f, t]
                    s02 = m[2, f, t] + m[6, f, t] + m[10, f, t]
                    s03 = m[3, f, t] + m[7, f, t] + m[11, f, t]
                    s10 = m[4, f, t] - m[8, f, t] - m[12, f, t]
                    s11 = m[5, f, t] - m[9, f, t] - m[13, f, t]
                    s12 = m[6, f, t] - m[10, f, t] - m[14, f, t]
                    s13 = m[7, f, t] - m[11, f, t] - m[15, f, t]
                    # (A^T M) A
                    top[2 * j] = s00 + s01 + s02 + bias
                    top[2 * j + 1] = s01 - s02 - s03 + bias
                    bottom[2 * j] = s10 + s11 + s12 + bias
                    bottom[2 * j + 1] = s11 - s12 - s13 + bias


def output_transform_reference(m, b, out):
    """NumPy twin of `output_transform`."""
    N, F, OH, OW = out.shape
    at = AT.astype(m.dtype)
    y = np.einsum("ai,ijfnpq,bj->nfpaqb", at, m.reshape(4, 4, F, N, OH // 2, OW // 2), at)
    out[...] = y.reshape(N, F, OH, OW) + b[:, None, None]


@njit(cache=True, nogil=True)
def output_transform_backward(dout, dm):
    """dM = A dY A^T, the adjoint of output_transform: dout (N, F, OH, OW) -> written into
    dm (16, F, T).

    Each 2x2 tile of output gradient g spreads over the 4x4 points it was summed from:
    A's rows are (1, 0), (1, 1), (1, -1), (0, -1).
    """
    N, F, OH, OW = dout.shape
    TH, TW = OH // 2, OW // 2
    P = TH * TW
    for n in range(N):
        for f in range(F):
            for i in range(TH):
                base = n * P + i * TW
                top, bottom = dout[n, f, 2 * i], dout[n, f, 2 * i + 1]
                for j in range(TW):
                    t = base + j
                    g00, g01 = top[2 * j], top[2 * j + 1]
                    g10, g11 = bottom[2 * j], bottom[2 * j + 1]
                    # A g: 4 rows of 2
                    e00, e01 = g00, g01
                    e10, e11 = g00 + g10, g01 + g11
                    e20, e21 = g00 - g10, g01 - g11
                    e30, e31 = -g10, -g11
                    # (A g) A^T: each row (p, q) -> (p, p + q, p - q, -q)
                    dm[0, f, t], dm[1, f, t] = e00, e00 + e01
                    dm[2, f, t], dm[3, f, t] = e00 - e01, -e01
                    dm[4, f, t], dm[5, f, t] = e10, e10 + e11
                    dm[6, f, t], dm[7, f, t] = e10 - e11, -e11
                    dm[8, f, t], dm[9, f, t] = e20, e20 + e21
                    dm[10, f, t], dm[11, f, t] = e20 - e21, -e21
                    dm[12, f, t], dm[13, f, t] = e30, e30 + e31
                    dm[14, f, t], dm[15, f, t] = e30 - e31, -e31


def output_transform_backward_reference(dout, dm):
    """NumPy twin of `output_transform_backward`."""
    N, F, OH, OW = dout.shape
    at = AT.astype(dout.dtype)
    tiles = dout.reshape(N, F, OH // 2, 2, OW // 2, 2)             # (N, F, TH, a, TW, b)
    tm = np.einsum("ai,nfpaqb,bj->ijfnpq", at, tiles, at)          # (4, 4, F, N, TH, TW)
    dm[...] = tm.reshape(16, F, N * (OH // 2) * (OW // 2))


# ----------------------------------------------------------------------------- the layer's work
def conv3x3_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, chunk: int | None
                    ) -> np.ndarray:
    """The convolution of x (N, C, H, W) with w (F, C, 3, 3), plus b (F,), stride 1, padding 1:
    out (N, F, H, W). `chunk` images at a time (all at once if None), as Conv2D's im2col path."""
    N, C, H, W = x.shape
    F = w.shape[0]
    u = weight_transform(w)                                         # (16, F, C)
    out = np.empty((N, F, H, W), dtype=x.dtype)
    chunk = min(chunk or N, N)
    T = chunk * H * W // 4                                          # tiles of one chunk
    v, m = planes(C, T, x.dtype), planes(F, T, x.dtype)
    for n in range(0, N, chunk):
        xn = x[n:n + chunk]
        t = len(xn) * H * W // 4
        input_transform(xn, v[:, :, :t])                            # (16, C, t)
        np.matmul(u, v[:, :, :t], out=m[:, :, :t])                  # (16, F, C) @ (16, C, t)
        output_transform(m[:, :, :t], b, out[n:n + chunk])
    return out


def conv3x3_backward(x: np.ndarray, w: np.ndarray, dout: np.ndarray, chunk: int | None,
                     input_grad: bool = True) -> tuple:
    """Gradients of conv3x3_forward, given dout (N, F, H, W): (dw (F, C, 3, 3), db (F,), dx
    (N, C, H, W), or None when not input_grad). The tiles' transforms are computed again
    rather than kept from forward, like im2col's patches."""
    N, C, H, W = x.shape
    F = w.shape[0]
    u = weight_transform(w)                                         # (16, F, C)
    ut = np.ascontiguousarray(u.transpose(0, 2, 1))                 # (16, C, F)
    du = np.zeros_like(u)
    dx = np.empty_like(x) if input_grad else None
    chunk = min(chunk or N, N)
    T = chunk * H * W // 4
    vt, dm, dv = planes(T, C, x.dtype), planes(F, T, x.dtype), planes(C, T, x.dtype)
    for n in range(0, N, chunk):
        xn = x[n:n + chunk]
        t = len(xn) * H * W // 4
        # V written transposed, (16, t, C): OpenBLAS packs a transposed operand slowly, and
        # dU's multiply ran at 125 GFLOP/s with V^T as a view against 225 with this
        input_transform(xn, vt[:, :t].transpose(0, 2, 1))
        output_transform_backward(dout[n:n + chunk], dm[:, :, :t])   # (16, F, t)
        du += dm[:, :, :t] @ vt[:, :t]                              # (16, F, t) @ (16, t, C)
        if dx is not None:
            np.matmul(ut, dm[:, :, :t], out=dv[:, :, :t])           # (16, C, F) @ (16, F, t)
            input_transform_backward(dv[:, :, :t], dx[n:n + chunk])
    return weight_transform_backward(du), dout.sum(axis=(0, 2, 3)), dx
