"""Direct convolution of one-channel images with 3x3 filters: the first layer of a CNN on
grey images, computed as the sum it is defined as.

    out[n, f, h, w] = b[f] + sum over kh, kw of w[f, 0, kh, kw] * xp[n, h + kh, w + kw]

(xp: the image with `pad` zeros around it; stride 1.) Why not im2col: with one channel, each
output pixel is 9 multiply-adds, and im2col copies 9 numbers per pixel to use each once, in a
multiply whose inner dimension, 9, is too short for BLAS to run near its peak. Why not
Winograd: its multiplies become outer products, (T, 1) @ (1, F). Measured on one core, 32
MNIST images and the default CNN's 32 filters: forward 0.49 -> 0.21 ms, the filters'
gradient 0.61 -> 0.22 ms.

How the loops are laid out: each image is copied into a flat buffer with a zero border, rows
Wp = W + 2*pad apart, and the output is computed in the same coordinates (pixel h, w at
h*Wp + w; the last 2 columns of each row are not outputs). Then each of the 9 taps is one
shifted view of the buffer, and the loop over pixels is one long run with no index
arithmetic, which the compiler vectorises. (Indexing with xp[q + Wp] instead of a view
costs Python's negative-index test on every access, and the loop stays scalar: 6x slower.)

What this is not: a general convolution. One input channel, 3x3 filters, stride 1; Conv2D
uses it for those and im2col or Winograd (winograd.py) otherwise. The input gradient is not
here: a first layer does not need it (Conv2D computes it with col2im if asked).
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _padded(x, n, pad, xp):
    """Image n of x (N, 1, H, W) into the zero-bordered flat buffer xp, rows W + 2*pad apart."""
    H, W = x.shape[2], x.shape[3]
    Wp = W + 2 * pad
    for h in range(H):
        row, src = xp[(h + pad) * Wp + pad:(h + pad) * Wp + pad + W], x[n, 0, h]
        for j in range(W):
            row[j] = src[j]


@njit(cache=True, nogil=True)
def _taps(xp, Wp, L):
    """The 9 views of the flat buffer xp under taps (0, 0), (0, 1), ... (2, 2) of L pixels:
    tap (kh, kw) of the pixel at q is xp[q + kh*Wp + kw]."""
    r1, r2 = Wp, 2 * Wp
    return (xp[0:L], xp[1:1 + L], xp[2:2 + L],
            xp[r1:r1 + L], xp[r1 + 1:r1 + 1 + L], xp[r1 + 2:r1 + 2 + L],
            xp[r2:r2 + L], xp[r2 + 1:r2 + 1 + L], xp[r2 + 2:r2 + 2 + L])


@njit(cache=True, nogil=True)
def conv3x3_forward(x, w, b, pad):
    """x (N, 1, H, W), w (F, 1, 3, 3), b (F,) -> out (N, F, H + 2*pad - 2, W + 2*pad - 2)."""
    N, _, H, W = x.shape
    F = w.shape[0]
    Hp, Wp = H + 2 * pad, W + 2 * pad
    OH, OW = Hp - 2, Wp - 2
    L = (OH - 1) * Wp + OW                    # from the first output pixel to the last
    out = np.empty((N, F, OH, OW), dtype=x.dtype)
    xp = np.zeros(Hp * Wp, dtype=x.dtype)     # the border stays 0: the padding
    y = np.empty(OH * Wp, dtype=x.dtype)
    for n in range(N):
        _padded(x, n, pad, xp)
        # tap (kh, kw) of every output pixel: the buffer shifted by kh rows and kw columns
        s0, s1, s2, s3, s4, s5, s6, s7, s8 = _taps(xp, Wp, L)
        for f in range(F):
            k, bias = w[f, 0], b[f]
            k0, k1, k2, k3, k4 = k[0, 0], k[0, 1], k[0, 2], k[1, 0], k[1, 1]
            k5, k6, k7, k8 = k[1, 2], k[2, 0], k[2, 1], k[2, 2]
            for q in range(L):
                y[q] = (bias + k0 * s0[q] + k1 * s1[q] + k2 * s2[q] + k3 * s3[q] + k4 * s4[q]
                        + k5 * s5[q] + k6 * s6[q] + k7 * s7[q] + k8 * s8[q])
            for h in range(OH):               # the output pixels of each row, into place
                o, yr = out[n, f, h], y[h * Wp:h * Wp + OW]
                for j in range(OW):
                    o[j] = yr[j]
    return out


def _windows(x, pad):
    """The 3x3 windows of x (N, 1, H, W) padded: (N, OH, OW, 3, 3)."""
    xp = np.pad(x[:, 0], ((0, 0), (pad, pad), (pad, pad)))
    return np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))


def conv3x3_forward_reference(x, w, b, pad):
    """NumPy twin of `conv3x3_forward`."""
    out = np.einsum("nhwkl,fkl->nfhw", _windows(x, pad), w[:, 0])
    return (out + b[:, None, None]).astype(x.dtype)


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def conv3x3_backward(x, dout, pad):
    """Gradients of the filters and biases: x (N, 1, H, W), dout (N, F, OH, OW) ->
    (dw (F, 1, 3, 3), db (F,)).

    dw[f, 0, kh, kw] is the sum over images and pixels of dout times the input pixel that tap
    (kh, kw) saw: nine dot products of each gradient plane with the 9 shifted views of
    forward. The gradient plane is laid out as the output was, rows Wp apart, with zeros
    between. fastmath "reassoc" lets these sums be added up in a different order, in vector
    lanes: 0.22 ms for 32 MNIST images and 32 filters, against 1.12 ms strictly in order.
    """
    N, _, H, W = x.shape
    F, OH, OW = dout.shape[1], dout.shape[2], dout.shape[3]
    Hp, Wp = H + 2 * pad, W + 2 * pad
    L = (OH - 1) * Wp + OW
    dw = np.zeros((F, 1, 3, 3), dtype=x.dtype)
    db = np.zeros(F, dtype=x.dtype)
    xp = np.zeros(Hp * Wp, dtype=x.dtype)
    g = np.zeros(OH * Wp, dtype=x.dtype)      # one gradient plane; the gaps stay 0
    for n in range(N):
        _padded(x, n, pad, xp)
        s0, s1, s2, s3, s4, s5, s6, s7, s8 = _taps(xp, Wp, L)
        for f in range(F):
            for h in range(OH):
                gr, src = g[h * Wp:h * Wp + OW], dout[n, f, h]
                for j in range(OW):
                    gr[j] = src[j]
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = ab = x.dtype.type(0)
            for q in range(L):
                gq = g[q]
                ab += gq
                a0 += gq * s0[q]
                a1 += gq * s1[q]
                a2 += gq * s2[q]
                a3 += gq * s3[q]
                a4 += gq * s4[q]
                a5 += gq * s5[q]
                a6 += gq * s6[q]
                a7 += gq * s7[q]
                a8 += gq * s8[q]
            k = dw[f, 0]
            k[0, 0] += a0
            k[0, 1] += a1
            k[0, 2] += a2
            k[1, 0] += a3
            k[1, 1] += a4
            k[1, 2] += a5
            k[2, 0] += a6
            k[2, 1] += a7
            k[2, 2] += a8
            db[f] += ab
    return dw, db


def conv3x3_backward_reference(x, dout, pad):
    """NumPy twin of `conv3x3_backward`."""
    dw = np.einsum("nhwkl,nfhw->fkl", _windows(x, pad), dout)[:, None]
    return dw.astype(x.dtype), dout.sum(axis=(0, 2, 3))
