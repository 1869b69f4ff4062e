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

    U = G w G^T      per filter and channel           -> U (16, C, F)
    V = B^T d B      per input tile and channel       -> V (16, T, C)
    M[xi] = V[xi] @ U[xi]   for each of the 16 points xi of a 4x4 tile -> M (16, T, F)
    Y = A^T M A      per output tile and filter, plus the bias

16 matrix multiplies of (T, C) @ (C, F) instead of im2col's one (F, 9C) @ (9C, 4T): 16*C
multiply-adds per output pixel instead of 36*C. Every step is linear, so backward is the
same algebra transposed: dM = A dY A^T; dU[xi] = V[xi]^T @ dM[xi], dw = G^T dU G;
dV[xi] = dM[xi] @ U[xi]^T, and dx = B dV B^T, overlap-added where the tiles overlap.
The result is exact, not an approximation: the same numbers as im2col up to float32 rounding
(F(2x2, 3x3)'s transforms hold only 0, +-1 and +-1/2, so that rounding is small; bigger tiles,
such as F(4x4, 3x3), save more multiplies but lose digits).

Why channels last, (T, C) and (T, F), when layers speak (N, C, H, W): the transforms then
run over runs of C or F numbers in memory, which the compiler turns into vector
instructions, and none of the three multiplies needs a transposed operand, which OpenBLAS
packs slowly (the dU multiply: 125 GFLOP/s with one, 225 without). The price is a transpose
of each image on the way in and out. Measured on one core, forward and backward of the
default CNN's second convolution for 64 images: 12.4 ms with im2col, 8.2 ms with Winograd
in (C, T) layout, 6.2-6.5 ms like this.

What this module is not: a general convolution. It takes 3x3 filters, stride 1, padding 1 and
an even image height and width; Conv2D's "auto" takes it from 8 input channels on (the default
CNN's second convolution; its first, on one channel, is direct.py's), im2col for anything else.
The transforms of inputs and gradients are numba kernels, each beside a NumPy twin named
`*_reference` with the same signature (tests/test_fast_kernels.py holds them equal); the
filters' transforms are a few thousand numbers and stay NumPy. No `prange`, for kernels.py's reason:
DataParallel already runs one thread per core.
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


# ----------------------------------------------------------------------------- filters
# G w G^T for every filter and channel at once: one multiply by the Kronecker product
# G (x) G (16x9), whose row 4*i + j holds G[i, k] * G[j, l] at column 3*k + l.
GG = np.kron(G, G)


def weight_transform(w: np.ndarray) -> np.ndarray:
    """U = G w G^T: w (F, C, 3, 3) -> U (16, C, F), point xi = 4*i + j of the 4x4 transform."""
    F, C = w.shape[:2]
    w_cf = np.ascontiguousarray(w.transpose(1, 0, 2, 3)).reshape(C * F, 9)
    return (GG.astype(w.dtype) @ w_cf.T).reshape(16, C, F)


def weight_transform_backward(du: np.ndarray) -> np.ndarray:
    """dw = G^T dU G, the adjoint of weight_transform: dU (16, C, F) -> dw (F, C, 3, 3)."""
    _, C, F = du.shape
    dw = (du.reshape(16, C * F).T @ GG.astype(du.dtype)).reshape(C, F, 3, 3)
    return np.ascontiguousarray(dw.transpose(1, 0, 2, 3))


# ----------------------------------------------------------------------------- inputs
@njit(cache=True, nogil=True)
def input_transform(x, v):
    """V = B^T d B for every 4x4 tile d of the zero-padded input: x (N, C, H, W) -> written
    into v (16, T, C), T = N*H*W/4.

    Tile t = n*TH*TW + i*TW + j (TH = H/2, TW = W/2) starts at row 2i, column 2j of the padded
    image, so neighbouring tiles overlap by 2. Each image is first copied channels-last into a
    buffer with a zero border, (H+2, W+2, C), so that every loop below runs over channels: a
    run of C numbers in memory, which the compiler turns into vector instructions. B^T d is
    done once per row of tiles on whole rows of pixels (tiles side by side share 2 columns),
    then (B^T d) B tile by tile.
    """
    N, C, H, W = x.shape
    TH, TW = H // 2, W // 2
    xp = np.zeros((H + 2, W + 2, C), dtype=x.dtype)  # the border stays 0: the padding
    s = np.empty((4, W + 2, C), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for h in range(H):
                for w in range(W):
                    xp[h + 1, w + 1, c] = x[n, c, h, w]
        for i in range(TH):
            r0, r1, r2, r3 = xp[2 * i], xp[2 * i + 1], xp[2 * i + 2], xp[2 * i + 3]
            for k in range(W + 2):  # B^T d, for the 4 rows of this row of tiles
                for c in range(C):
                    s[0, k, c] = r0[k, c] - r2[k, c]
                    s[1, k, c] = r1[k, c] + r2[k, c]
                    s[2, k, c] = r2[k, c] - r1[k, c]
                    s[3, k, c] = r1[k, c] - r3[k, c]
            for j in range(TW):  # (B^T d) B, for each tile: its 4 columns
                t = (n * TH + i) * TW + j
                for a in range(4):
                    d0, d1, d2, d3 = s[a, 2 * j], s[a, 2 * j + 1], s[a, 2 * j + 2], s[a, 2 * j + 3]
                    for c in range(C):
                        v[4 * a, t, c] = d0[c] - d2[c]
                        v[4 * a + 1, t, c] = d1[c] + d2[c]
                        v[4 * a + 2, t, c] = d2[c] - d1[c]
                        v[4 * a + 3, t, c] = d1[c] - d3[c]


def _tiles(xp):
    """The 4x4 tiles, 2 apart, of padded images xp (N, C, 2TH+2, 2TW+2): (N, C, TH, TW, 4, 4)."""
    return np.lib.stride_tricks.sliding_window_view(xp, (4, 4), axis=(2, 3))[:, :, ::2, ::2]


def input_transform_reference(x, v):
    """NumPy twin of `input_transform`: pad, view the tiles, B^T d B as one einsum."""
    N, C, H, W = x.shape
    tiles = _tiles(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))))
    bt = BT.astype(x.dtype)
    tv = np.einsum("ia,ncpqab,jb->ijnpqc", bt, tiles, bt)      # (4, 4, N, TH, TW, C)
    v[...] = tv.reshape(16, N * (H // 2) * (W // 2), C)


@njit(cache=True, nogil=True)
def input_transform_backward(dv, dx):
    """The adjoint of input_transform: dx = B dV B^T per tile, overlap-added, padding dropped.

    dv (16, T, C) -> written into dx (N, C, H, W), which gives the shape. The sums go into a
    channels-last buffer with a zero border, as in input_transform; what lands on the border
    is dropped, since the padding was a constant, not an input.
    """
    N, C, H, W = dx.shape
    TH, TW = H // 2, W // 2
    dxp = np.empty((H + 2, W + 2, C), dtype=dx.dtype)
    e = np.empty((4, 4, C), dtype=dx.dtype)
    for n in range(N):
        dxp[:] = 0
        for i in range(TH):
            for j in range(TW):
                t = (n * TH + i) * TW + j
                for a in range(4):  # dV B^T: the 4 columns of row a
                    u0, u1 = dv[4 * a, t], dv[4 * a + 1, t]
                    u2, u3 = dv[4 * a + 2, t], dv[4 * a + 3, t]
                    for c in range(C):
                        e[a, 0, c] = u0[c]
                        e[a, 1, c] = u1[c] - u2[c] + u3[c]
                        e[a, 2, c] = u1[c] + u2[c] - u0[c]
                        e[a, 3, c] = -u3[c]
                for b in range(4):  # B (dV B^T): the 4 rows, added where the tile came from
                    q0, q1 = dxp[2 * i, 2 * j + b], dxp[2 * i + 1, 2 * j + b]
                    q2, q3 = dxp[2 * i + 2, 2 * j + b], dxp[2 * i + 3, 2 * j + b]
                    e0, e1, e2, e3 = e[0, b], e[1, b], e[2, b], e[3, b]
                    for c in range(C):
                        q0[c] += e0[c]
                        q1[c] += e1[c] - e2[c] + e3[c]
                        q2[c] += e1[c] + e2[c] - e0[c]
                        q3[c] -= e3[c]
        for c in range(C):
            for h in range(H):
                for w in range(W):
                    dx[n, c, h, w] = dxp[h + 1, w + 1, c]


def input_transform_backward_reference(dv, dx):
    """NumPy twin of `input_transform_backward`: B dV B^T per tile, then one strided add per
    tile offset (a, b)."""
    N, C, H, W = dx.shape
    TH, TW = H // 2, W // 2
    bt = BT.astype(dv.dtype)
    tiles = np.einsum("ia,ijnpqc,jb->ncpqab", bt, dv.reshape(4, 4, N, TH, TW, C), bt)
    dxp = np.zeros((N, C, H + 2, W + 2), dtype=dv.dtype)
    for a in range(4):
        for b in range(4):
            dxp[:, :, a:a + H:2, b:b + W:2] += tiles[..., a, b]
    dx[...] = dxp[:, :, 1:H + 1, 1:W + 1]


# ----------------------------------------------------------------------------- outputs
@njit(cache=True, nogil=True)
def output_transform(m, b, out):
    """Y = A^T M A + bias for every tile: m (16, T, F), b (F,) -> written into out (N, F, OH, OW).

    Each tile's 16 points become its 2x2 outputs at rows 2i, 2i+1, columns 2j, 2j+1, computed
    for all filters at once into a channels-last image (OH, OW, F), then copied into place.
    """
    N, F, OH, OW = out.shape
    TH, TW = OH // 2, OW // 2
    y = np.empty((OH, OW, F), dtype=out.dtype)
    s = np.empty((2, 4, F), dtype=out.dtype)
    for n in range(N):
        for i in range(TH):
            for j in range(TW):
                t = (n * TH + i) * TW + j
                for k in range(4):  # A^T M: rows 0 and 1 of column k
                    m0, m1, m2, m3 = m[k, t], m[4 + k, t], m[8 + k, t], m[12 + k, t]
                    for f in range(F):
                        s[0, k, f] = m0[f] + m1[f] + m2[f]
                        s[1, k, f] = m1[f] - m2[f] - m3[f]
                for a in range(2):  # (A^T M) A: the 2 outputs of row a
                    s0, s1, s2, s3 = s[a, 0], s[a, 1], s[a, 2], s[a, 3]
                    y0, y1 = y[2 * i + a, 2 * j], y[2 * i + a, 2 * j + 1]
                    for f in range(F):
                        y0[f] = s0[f] + s1[f] + s2[f] + b[f]
                        y1[f] = s1[f] - s2[f] - s3[f] + b[f]
        for f in range(F):
            for h in range(OH):
                for w in range(OW):
                    out[n, f, h, w] = y[h, w, f]


def output_transform_reference(m, b, out):
    """NumPy twin of `output_transform`."""
    N, F, OH, OW = out.shape
    at = AT.astype(m.dtype)
    y = np.einsum("ai,ijnpqf,bj->nfpaqb", at, m.reshape(4, 4, N, OH // 2, OW // 2, F), at)
    out[...] = y.reshape(N, F, OH, OW) + b[:, None, None]


@njit(cache=True, nogil=True)
def output_transform_backward(dout, dm, db):
    """dM = A dY A^T, the adjoint of output_transform: dout (N, F, OH, OW) -> written into
    dm (16, T, F); and the bias's gradient, dout summed over images and pixels, added to db (F,).

    Each 2x2 tile of output gradient g spreads over the 4x4 points it was summed from:
    A's rows are (1, 0), (1, 1), (1, -1), (0, -1). Like output_transform, through a
    channels-last copy of each image's gradient, which also sums it for db (NumPy's
    dout.sum(axis=(0, 2, 3)) was 0.1 ms of its own for 32 images).
    """
    N, F, OH, OW = dout.shape
    TH, TW = OH // 2, OW // 2
    g = np.empty((OH, OW, F), dtype=dout.dtype)
    e = np.empty((4, 2, F), dtype=dout.dtype)
    for n in range(N):
        for f in range(F):
            total = dout.dtype.type(0)
            for h in range(OH):
                for w in range(OW):
                    g[h, w, f] = dout[n, f, h, w]
                    total += dout[n, f, h, w]
            db[f] += total
        for i in range(TH):
            for j in range(TW):
                t = (n * TH + i) * TW + j
                for b in range(2):  # A g: the 4 rows of column b
                    g0, g1 = g[2 * i, 2 * j + b], g[2 * i + 1, 2 * j + b]
                    for f in range(F):
                        e[0, b, f] = g0[f]
                        e[1, b, f] = g0[f] + g1[f]
                        e[2, b, f] = g0[f] - g1[f]
                        e[3, b, f] = -g1[f]
                for a in range(4):  # (A g) A^T: each row (p, q) -> (p, p + q, p - q, -q)
                    p, q = e[a, 0], e[a, 1]
                    m0, m1 = dm[4 * a, t], dm[4 * a + 1, t]
                    m2, m3 = dm[4 * a + 2, t], dm[4 * a + 3, t]
                    for f in range(F):
                        m0[f] = p[f]
                        m1[f] = p[f] + q[f]
                        m2[f] = p[f] - q[f]
                        m3[f] = -q[f]


def output_transform_backward_reference(dout, dm, db):
    """NumPy twin of `output_transform_backward`."""
    N, F, OH, OW = dout.shape
    at = AT.astype(dout.dtype)
    tiles = dout.reshape(N, F, OH // 2, 2, OW // 2, 2)             # (N, F, TH, a, TW, b)
    tm = np.einsum("ai,nfpaqb,bj->ijnpqf", at, tiles, at)          # (4, 4, N, TH, TW, F)
    dm[...] = tm.reshape(16, N * (OH // 2) * (OW // 2), F)
    db += dout.sum(axis=(0, 2, 3))


# ----------------------------------------------------------------------------- the layer's work
def conv3x3_forward(x: np.ndarray, u: np.ndarray, b: np.ndarray, chunk: int | None
                    ) -> np.ndarray:
    """The convolution of x (N, C, H, W) with filters U = weight_transform(w) (16, C, F), plus
    b (F,), stride 1, padding 1: out (N, F, H, W). `chunk` images at a time (all at once if
    None), as Conv2D's im2col path."""
    N, C, H, W = x.shape
    F = u.shape[2]
    out = np.empty((N, F, H, W), dtype=x.dtype)
    chunk = min(chunk or N, N)
    T = chunk * H * W // 4                                          # tiles of one chunk
    v, m = np.empty((16, T, C), x.dtype), np.empty((16, T, F), x.dtype)
    for n in range(0, N, chunk):
        xn = x[n:n + chunk]
        t = len(xn) * H * W // 4                                    # fewer in the last chunk
        input_transform(xn, v)                                      # (16, t, C)
        np.matmul(v[:, :t], u, out=m[:, :t])                        # (16, t, C) @ (16, C, F)
        output_transform(m, b, out[n:n + chunk])
    return out


def conv3x3_backward(x: np.ndarray, u: np.ndarray, dout: np.ndarray, chunk: int | None,
                     input_grad: bool = True) -> tuple:
    """Gradients of conv3x3_forward, given dout (N, F, H, W): (dw (F, C, 3, 3), db (F,), dx
    (N, C, H, W), or None when not input_grad). The tiles' transforms V are computed again
    rather than kept from forward, like im2col's patches: keeping them measured no faster in
    profile_step's whole step (6.2 against 6.1 ms for this layer, 64 images; a slice's V's,
    3.2 MB, have left the L2 cache by the time backward comes back to them)."""
    N, C, H, W = x.shape
    F = u.shape[2]
    ut = np.ascontiguousarray(u.transpose(0, 2, 1))                 # (16, F, C)
    du, db = np.zeros_like(u), np.zeros(F, dtype=x.dtype)
    dx = np.empty_like(x) if input_grad else None
    chunk = min(chunk or N, N)
    T = chunk * H * W // 4
    v, dm, dv = (np.empty((16, T, k), x.dtype) for k in (C, F, C))
    for n in range(0, N, chunk):
        xn = x[n:n + chunk]
        t = len(xn) * H * W // 4
        input_transform(xn, v)                                      # (16, t, C)
        output_transform_backward(dout[n:n + chunk], dm, db)        # (16, t, F)
        du += v[:, :t].transpose(0, 2, 1) @ dm[:, :t]               # (16, C, t) @ (16, t, F)
        if dx is not None:
            np.matmul(dm[:, :t], ut, out=dv[:, :t])                 # (16, t, F) @ (16, F, C)
            input_transform_backward(dv, dx[n:n + chunk])
    return weight_transform_backward(du), db, dx
