"""Make MNIST look like people drawing on a screen: random slant, size, pen width and wobble.

MNIST was written with pens on paper forms by Census employees and students; the digits people draw
on the page with a mouse or a finger are slanted differently, drawn with other pens and wobblier.
Every training batch goes through `augment_batch`, which gives each image its own

1. affine map about its centre of mass: rotation, scale (a little more in one direction than the
   other), horizontal shear (= slant) and a small shift, resampled bilinearly. Rotating about the
   centre of mass keeps the digit where MNIST puts it (its centre of mass at the middle), so
   nothing wanders out of the frame;
2. optional elastic distortion (Simard, Steinkraus & Platt, "Best practices for convolutional neural
   networks applied to visual document analysis", ICDAR 2003): a smooth random displacement field,
   made cheaply here as a coarse random grid upsampled bilinearly, added in the same resampling
   pass;
3. pen width: for a random part of the batch, a fractional grey-scale dilation with a plus-shaped
   3x3 neighbourhood (thicker pen), or a lifted background level that peels off the soft edge of
   the stroke (thinner pen).

The drawings the network sees in use have been through digits/preprocess.py (cropped, longer side
fitted to 20 px, centre of mass centred, pen width brought near MNIST's), so shifts and scales are
kept modest; slant, pen and shape variation are what remain. Rotations stay modest too, so that a
6 never turns into a 9.

The two pixel loops are numba kernels, each beside a NumPy twin (`*_reference`, same signature)
that a test compares them with; `NUMBA_DISABLE_JIT=1` makes them plain Python. They run on one
thread, small next to a training step (docs/training.md; python -m scripts.plot_augmentations
--time).

What this module is not: a general augmentation library. Images are (N, H, W) float32 in 0..1 with
1 = ink (MNIST polarity), everything outside the image counts as background, and there is no colour,
noise or occlusion.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# ----------------------------------------------------------------------------- warp


@njit(cache=True)
def warp(images, inv, src_centre, dst_centre, disp):
    """Resample every image through its own affine map plus a displacement field, bilinearly.

    images (N, H, W) float32; inv (N, 2, 2) float64 maps an output offset to a source offset;
    src_centre, dst_centre (N, 2) float64 in (row, col); disp (N, 2, H, W) float32 (row, col
    displacements, zeros for a pure affine). Output pixel (i, j) of image n reads the source at

        (r, c) = src_centre[n] + inv[n] @ ((i, j) - dst_centre[n]) + disp[n, :, i, j]

    interpolating between the four pixels around (r, c); pixels outside the image are 0.
    Returns (N, H, W) float32.
    """
    N, H, W = images.shape
    out = np.empty((N, H, W), dtype=np.float32)
    for n in range(N):
        a, b, c, d = inv[n, 0, 0], inv[n, 0, 1], inv[n, 1, 0], inv[n, 1, 1]
        for i in range(H):
            di = i - dst_centre[n, 0]
            for j in range(W):
                dj = j - dst_centre[n, 1]
                r = src_centre[n, 0] + a * di + b * dj + disp[n, 0, i, j]
                s = src_centre[n, 1] + c * di + d * dj + disp[n, 1, i, j]
                r0 = int(np.floor(r))
                s0 = int(np.floor(s))
                fr = r - r0
                fs = s - s0
                value = 0.0
                for dr in range(2):
                    rr = r0 + dr
                    if rr < 0 or rr >= H:
                        continue
                    wr = fr if dr == 1 else 1.0 - fr
                    for ds in range(2):
                        ss = s0 + ds
                        if ss < 0 or ss >= W:
                            continue
                        ws = fs if ds == 1 else 1.0 - fs
                        value += wr * ws * images[n, rr, ss]
                out[n, i, j] = value
    return out


def warp_reference(images, inv, src_centre, dst_centre, disp):
    """NumPy twin of `warp`: all output coordinates at once, then a masked four-pixel gather."""
    N, H, W = images.shape
    ii, jj = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")  # (H, W) each
    di = ii[None] - dst_centre[:, 0, None, None]  # (N, H, W)
    dj = jj[None] - dst_centre[:, 1, None, None]
    r = src_centre[:, 0, None, None] + inv[:, 0, 0, None, None] * di + inv[:, 0, 1, None, None] * dj
    s = src_centre[:, 1, None, None] + inv[:, 1, 0, None, None] * di + inv[:, 1, 1, None, None] * dj
    r, s = r + disp[:, 0], s + disp[:, 1]
    r0, s0 = np.floor(r).astype(np.int64), np.floor(s).astype(np.int64)
    fr, fs = r - r0, s - s0
    n = np.arange(N)[:, None, None]
    out = np.zeros((N, H, W))
    for rr, wr in ((r0, 1 - fr), (r0 + 1, fr)):
        for ss, ws in ((s0, 1 - fs), (s0 + 1, fs)):
            inside = (rr >= 0) & (rr < H) & (ss >= 0) & (ss < W)
            pixel = images[n, np.clip(rr, 0, H - 1), np.clip(ss, 0, W - 1)]
            out += np.where(inside, wr * ws * pixel, 0.0)
    return out.astype(np.float32)


# ----------------------------------------------------------------------------- pen width


@njit(cache=True)
def thicken(images, amount):
    """Change the pen width: amount > 0 makes strokes thicker, amount < 0 thinner.

    images (N, H, W) float32; amount (N,) float32 in -1..1; 0 leaves an image as it is.
    Thicker: blend towards the grey-scale dilation (the max over the pixel and its 4 neighbours,
    background outside the image): (1 - t) * x + t * dilation, t = amount.
    Thinner: lift the level that counts as background, x -> max(0, (x - a) / (1 - a)) with
    a = -amount / 2. MNIST strokes have soft edges, so this peels off the edge and leaves the dark
    core, a thinner but still solid line. (An erosion would instead turn thin strokes faint grey,
    which no pen does.) Returns (N, H, W) float32.
    """
    N, H, W = images.shape
    out = np.empty((N, H, W), dtype=np.float32)
    for n in range(N):
        t = amount[n]
        a = -0.5 * t
        for i in range(H):
            for j in range(W):
                x = images[n, i, j]
                if t > 0.0:
                    up = images[n, i - 1, j] if i > 0 else 0.0
                    down = images[n, i + 1, j] if i < H - 1 else 0.0
                    left = images[n, i, j - 1] if j > 0 else 0.0
                    right = images[n, i, j + 1] if j < W - 1 else 0.0
                    out[n, i, j] = (1.0 - t) * x + t * max(x, up, down, left, right)
                elif t < 0.0:
                    out[n, i, j] = max(0.0, (x - a) / (1.0 - a))
                else:
                    out[n, i, j] = x
    return out


def thicken_reference(images, amount):
    """NumPy twin of `thicken`: dilation from five shifted copies of a zero-padded batch."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    H, W = images.shape[1:]
    # (5, N, H, W): centre, up, down, left, right
    shifted = np.stack([padded[:, 1:H + 1, 1:W + 1], padded[:, 0:H, 1:W + 1],
                        padded[:, 2:H + 2, 1:W + 1], padded[:, 1:H + 1, 0:W],
                        padded[:, 1:H + 1, 2:W + 2]])
    t = amount[:, None, None]
    thicker = (1 - t) * images + t * shifted.max(axis=0)
    a = -0.5 * t
    thinner = np.maximum(0, (images - a) / (1 - a))
    return np.where(t > 0, thicker, np.where(t < 0, thinner, images)).astype(np.float32)


# ----------------------------------------------------------------------------- the batch


def centre_of_mass(images: np.ndarray) -> np.ndarray:
    """Intensity-weighted centre of each image: (N, H, W) -> (N, 2) float64 (row, col).

    A blank image has its geometric centre.
    """
    N, H, W = images.shape
    mass = images.sum(axis=(1, 2), dtype=np.float64)  # (N,)
    rows = images.sum(axis=2, dtype=np.float64) @ np.arange(H)  # (N,)
    cols = images.sum(axis=1, dtype=np.float64) @ np.arange(W)
    safe = np.where(mass > 0, mass, 1.0)
    centre = np.stack([rows / safe, cols / safe], axis=1)
    centre[mass <= 0] = ((H - 1) / 2, (W - 1) / 2)
    return centre


def _upsample_matrix(size: int, grid: int) -> np.ndarray:
    """(size, grid) linear-interpolation weights from `grid` control points spread over `size`."""
    knots = np.linspace(0, size - 1, grid)
    spacing = knots[1] - knots[0]
    return np.maximum(0.0, 1.0 - np.abs(np.arange(size)[:, None] - knots[None, :]) / spacing)


def augment_batch(
    images: np.ndarray,
    rng: np.random.Generator,
    *,
    rotation: float = 12.0,
    scale: tuple[float, float] = (0.85, 1.05),
    stretch: float = 0.1,
    shear: float = 0.3,
    shift: float = 1.5,
    thickness: tuple[float, float] = (-0.8, 0.8),
    thickness_fraction: float = 0.5,
    elastic: float = 0.0,
    elastic_grid: int = 4,
) -> np.ndarray:
    """Randomly distort a batch of digits, each image its own way; deterministic for a given rng.

    Inputs:
      images              float32 (N, H, W) in 0..1, 1 = ink (MNIST polarity)
      rng                 np.random.default_rng(seed): all randomness comes from here
      rotation            largest rotation, degrees (uniform in +-rotation)
      scale               (low, high) of the overall size factor, uniform
      stretch             anisotropy: the row and column scales are scale * e^(+-u), u in +-stretch
      shear               largest slant, radians: columns move by tan(angle) per row from the centre
      shift               largest move of the centre of mass, pixels, in each direction
      thickness           (low, high) of the pen change: +1 = a full dilation (about 2 px
                          thicker), -1 = background level lifted to 0.5 (see `thicken`)
      thickness_fraction  the share of the batch whose pen width changes
      elastic             size (standard deviation, pixels) of the elastic wobble; 0 turns it off
      elastic_grid        control points per side of the coarse displacement grid (>= 2)
    Returns:
      float32 (N, H, W) in 0..1. rotation=0, scale=(1, 1), stretch=0, shear=0, shift=0,
      thickness_fraction=0, elastic=0 give the input back.
    """
    images = _checked(images)
    N, H, W = images.shape
    low, high = scale
    if not 0 < low <= high:
        raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {scale}")
    if not 0 <= thickness_fraction <= 1 or not -1 <= thickness[0] <= thickness[1] <= 1:
        raise ValueError("thickness must lie in -1..1 (low <= high) and thickness_fraction in "
                         f"0..1, got {thickness} and {thickness_fraction}")

    # one draw of each kind for the whole batch, always in this order: same seed, same batch
    angle = np.deg2rad(rng.uniform(-rotation, rotation, N))
    size = rng.uniform(low, high, N)
    aspect = np.exp(rng.uniform(-stretch, stretch, N))
    slant = np.tan(rng.uniform(-shear, shear, N))
    move = rng.uniform(-shift, shift, (N, 2))
    pen = rng.uniform(thickness[0], thickness[1], N)
    pen *= rng.random(N) < thickness_fraction

    # forward map, acting on (row, col) offsets from the centre: rotate @ slant @ scale
    cos, sin, zero, one = np.cos(angle), np.sin(angle), np.zeros(N), np.ones(N)
    rotate = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)  # (N, 2, 2)
    slant_m = np.stack([np.stack([one, zero], -1), np.stack([slant, one], -1)], -2)
    scale_m = np.stack([np.stack([size / aspect, zero], -1),
                        np.stack([zero, size * aspect], -1)], -2)
    inv = np.linalg.inv(rotate @ slant_m @ scale_m)  # warp needs output -> source
    src_centre = centre_of_mass(images)
    dst_centre = src_centre + move

    if elastic > 0:
        if elastic_grid < 2:
            raise ValueError(f"elastic_grid must be at least 2, got {elastic_grid}")
        coarse = rng.normal(0.0, elastic, (N, 2, elastic_grid, elastic_grid))
        up_rows, up_cols = _upsample_matrix(H, elastic_grid), _upsample_matrix(W, elastic_grid)
        disp = (up_rows @ coarse @ up_cols.T).astype(np.float32)  # (N, 2, H, W)
    else:
        disp = np.zeros((N, 2, H, W), dtype=np.float32)

    out = warp(images, inv, src_centre, dst_centre, disp)
    if pen.any():
        out = thicken(out, pen.astype(np.float32))
    return out


def _checked(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"augment_batch takes a batch (N, H, W), got shape {images.shape}; "
                         "for (N, 1, H, W) pass images[:, 0]")
    if not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"augment_batch takes float images in 0..1, got {images.dtype}: pass "
                        "images.astype(np.float32) / 255")
    images = np.ascontiguousarray(images, dtype=np.float32)
    if images.size and (images.min() < 0 or images.max() > 1):
        raise ValueError(f"augment_batch takes images in 0..1, got {images.min():g}.."
                         f"{images.max():g}: divide uint8 images by 255")
    return images
