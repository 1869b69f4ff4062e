"""Look inside the network: what the page's "Look inside" panel shows for one drawing.

    explainer = Explainer(model, neighbours=BackgroundIndex(model, weights).start())
    answer = explainer.explain(x)   # x float32 (28, 28), 1.0 = ink -> a JSON-ready dict

It answers four questions about one drawing, each with a picture (a PNG data URL):
- What did the network see? `input`, the 28x28 image, and `saliency`: where ink mattered, the
  gradient of the winning digit's score (its logit) with respect to each pixel
  (nn.Sequential.input_gradient), averaged over noisy copies of the drawing (SmoothGrad): blue
  where more ink would raise the score, orange where it would lower it.
- Which filters fired? `layers[0]`: the first convolution's 32 3x3 filters (blue positive weights,
  orange negative) and the 32 maps they make of this drawing, in the same order, strongest first.
- What did the next layer make of them? `layers[1]`: the second convolution's 64 maps.
- What does it think this looks like? `neighbours`: the training digits whose last hidden layer
  is nearest to the drawing's (web/neighbours.py), or a note saying why there are none yet.

The maps of a layer are one PNG: a grid of tiles, `columns` across, 1-px gutters, the tiles in
`order` (the filter numbers, strongest first; `strength` is each map's mean). A layer's maps are
scaled by the largest value in the layer, not each by its own, so a map that barely fired stays
pale. Measured for a drawn 7 (python -m scripts.bench_explain): the whole answer is 20.6 KB and
takes 13 ms of CPU; the maps of both layers and the filters take 8.6 KB as PNG grids (1 ms to
encode), 24 KB as one PNG per map, 51 KB as base64 bytes and 204 KB as JSON numbers.

What it is not: a general visualisation library. It knows this app's CNN shape (convolutions
followed by ReLU, a first layer reading one channel); a model without convolutions gets no
layers and no filters, and everything else still works.
"""

from __future__ import annotations

import base64
import copy
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from PIL import Image

import nn
from web.features import hidden_of
from web.neighbours import BackgroundIndex

NEIGHBOURS = 8  # training digits shown
COLUMNS = 8  # tiles across in a layer's grid
FILTER_ZOOM = 5  # a 3x3 filter is drawn as 15x15 pixels with 3-px gutters: its grid is 141 px
FILTER_GUTTER = 3  # wide and lines up, tile over tile, with the 231-px grid of its 28x28 maps
SMOOTHING = 16  # saliency: the gradient averaged over 16 noisy copies of the drawing (SmoothGrad,
NOISE = 0.15  # Smilkov et al. 2017), noise 15% of the ink range: far less speckle than one gradient

# The page's colours (static/style.css), so the pictures sit on it as if drawn there.
PAPER = (255, 255, 255)
INK = (29, 39, 51)
BLUE = (47, 102, 201)
DEEP = (20, 33, 61)
ORANGE = (194, 65, 12)
GUTTER = (221, 227, 234)
LIGHT_INK = (200, 205, 212)  # the digit under its saliency map, faint


def _ramp(*stops: tuple[int, int, int]) -> np.ndarray:
    """255 colours (levels 0..254) running through `stops`, evenly spaced; uint8 (255, 3)."""
    at = np.linspace(0, len(stops) - 1, 255)
    stops_array = np.array(stops, np.float64)
    colours = [np.interp(at, np.arange(len(stops)), stops_array[:, c]) for c in range(3)]
    return np.round(np.stack(colours, axis=1)).astype(np.uint8)


INK_RAMP = _ramp(PAPER, INK)  # 0 = paper, 1 = ink: drawings and training digits
HEAT_RAMP = _ramp(PAPER, BLUE, DEEP)  # 0 = silent, the layer's largest value = deep blue
SIGNED_RAMP = _ramp(ORANGE, PAPER, BLUE)  # -max = orange, 0 = paper, +max = blue


def _levels(a: np.ndarray, scale: float, signed: bool = False) -> np.ndarray:
    """Values as palette levels 0..254: 0..scale, or -scale..scale when signed."""
    t = np.asarray(a, np.float64) / max(float(scale), 1e-12)
    t = (t + 1) / 2 if signed else t
    return np.round(np.clip(t, 0, 1) * 254).astype(np.uint8)


def _png(levels: np.ndarray, ramp: np.ndarray) -> str:
    """A palette PNG data URL of levels uint8 (H, W): 0..254 index `ramp`, 255 is the gutter.
    The palette holds only the colours used: a full one is 768 bytes, most of a 28x28 PNG."""
    used, inverse = np.unique(levels, return_inverse=True)
    image = Image.fromarray(inverse.reshape(levels.shape).astype(np.uint8), "P")
    image.putpalette(np.vstack([ramp, [GUTTER]])[used].reshape(-1).tolist())
    return _data_url(image)


def _data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def grid(tiles: np.ndarray, columns: int = COLUMNS, gutter: int = 1) -> np.ndarray:
    """Tiles uint8 (n, h, w) -> one uint8 image of ceil(n / columns) rows of `columns`, with
    gutters of level 255 between tiles: (rows * (h + gutter) - gutter, columns * (w + gutter) -
    gutter)."""
    n, h, w = tiles.shape
    rows = -(-n // columns)
    step_h, step_w = h + gutter, w + gutter
    out = np.full((rows * step_h - gutter, columns * step_w - gutter), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        out[r * step_h:r * step_h + h, c * step_w:c * step_w + w] = tile
    return out


def ink_png(x: np.ndarray) -> str:
    """A 28x28 image in 0..1 (1 = ink) as dark ink on paper, like the page's own preview."""
    return _png(_levels(x, 1.0), INK_RAMP)


def saliency_png(x: np.ndarray, gradient: np.ndarray) -> str:
    """The gradient (H, W) over a faint copy of the digit x: blue raises the score, orange lowers
    it, paper leaves it alone; scaled by the largest |gradient|."""
    t = np.clip(gradient / max(float(np.abs(gradient).max()), 1e-12), -1, 1)[..., None]
    base = np.array(PAPER) + x[..., None] * (np.array(LIGHT_INK) - np.array(PAPER))
    colour = np.where(t > 0, np.array(BLUE), np.array(ORANGE))
    rgb = base * (1 - np.abs(t)) + colour * np.abs(t)
    return _data_url(Image.fromarray(np.round(rgb).astype(np.uint8), "RGB"))


def _conv_layers(model: nn.Sequential) -> list[tuple[int, int]]:
    """(index of each Conv2D, index of the layer whose output shows its maps): the ReLU right
    after it when there is one, since a map is what the next layer reads."""
    found = []
    for i, layer in enumerate(model.layers):
        if isinstance(layer, nn.Conv2D):
            after = model.layers[i + 1] if i + 1 < len(model.layers) else None
            found.append((i, i + 1 if isinstance(after, nn.ReLU) else i))
    return found


class Explainer:
    """What the panel shows, for a model and (optionally) its training-digit neighbours.

    It works on its own copy of the model, in one thread of its own, one drawing at a time:
    input_gradient fills the layers' caches and grads, which /api/predict's model must never
    share with another thread. One thread also keeps the memory down: glibc gives every thread
    that allocates its own arena, and 20 explanations spread over waitress's 8 threads left the
    server 135 MB larger (RSS 199 -> 334 MB); in one thread, 23 MB (199 -> 222 MB).
    """

    def __init__(self, model: nn.Sequential, neighbours: BackgroundIndex | None = None,
                 k: int = NEIGHBOURS):
        self.model = copy.deepcopy(model)
        self.neighbours = neighbours
        self.k = k
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explain")

    def explain(self, x: np.ndarray) -> dict[str, Any]:
        """Everything the panel shows for x float32 (28, 28), 1.0 = ink; JSON-ready."""
        return self._worker.submit(self._explain, np.asarray(x, np.float32)).result()

    def _explain(self, x: np.ndarray) -> dict[str, Any]:
        batch = x[None, None]  # (1, 1, 28, 28)
        outputs = self.model.activations(batch)
        logits = outputs[-1][0]
        digit = int(np.argmax(logits))
        one_hot = np.zeros((SMOOTHING, logits.shape[0]), np.float32)
        one_hot[:, digit] = 1.0  # d(logit of the winning digit) / d(every pixel)
        noise = np.random.default_rng(0).normal(0, NOISE, (SMOOTHING, 1, 28, 28))
        noisy = (batch + noise).astype(np.float32)  # (SMOOTHING, 1, 28, 28)
        gradient = self.model.input_gradient(noisy, one_hot).mean(axis=0)[0]
        hidden = hidden_of(outputs)[0] if len(outputs) > 1 else None
        p = nn.softmax(logits[None].astype(np.float64))[0]
        return {
            "digit": digit,
            "probabilities": p.tolist(),
            "input": ink_png(x),
            "saliency": saliency_png(x, gradient),
            "layers": self._layers(outputs),
            "neighbours": self._neighbours(hidden),
        }

    def _layers(self, outputs: list[np.ndarray]) -> list[dict[str, Any]]:
        layers = []
        for n, (conv, shown) in enumerate(_conv_layers(self.model)):
            maps = outputs[shown][0]  # (F, H, W)
            strength = maps.mean(axis=(1, 2))
            order = np.argsort(-strength, kind="stable")
            entry = {
                "name": f"conv{n + 1}",
                "count": int(maps.shape[0]),
                "size": int(maps.shape[1]),
                "columns": COLUMNS,
                "order": order.tolist(),
                "strength": [round(float(s), 4) for s in strength[order]],
                "maps": _png(grid(_levels(maps[order], float(maps.max()))), HEAT_RAMP),
            }
            w = self.model.layers[conv].params["w"]  # (F, C, KH, KW)
            if w.shape[1] == 1:  # filters over one channel are pictures; deeper ones are stacks
                kernels = w[order, 0]
                big = np.kron(kernels, np.ones((FILTER_ZOOM, FILTER_ZOOM)))  # (F, 15, 15)
                levels = _levels(big, float(np.abs(w).max()), signed=True)
                entry["filters"] = _png(grid(levels, gutter=FILTER_GUTTER), SIGNED_RAMP)
            layers.append(entry)
        return layers

    def _neighbours(self, hidden: np.ndarray | None) -> dict[str, Any]:
        if self.neighbours is None:
            return {"status": "off", "progress": 0.0, "digits": [],
                    "note": "This server was started without the nearest training digits."}
        state = self.neighbours.status()
        index = self.neighbours.index
        if index is None or hidden is None:
            return {**state, "digits": []}
        digits = [{"index": n.position, "label": n.label, "similarity": round(n.similarity, 4),
                   "image": ink_png(n.image / 255.0)} for n in index.nearest(hidden, self.k)]
        return {**state, "digits": digits}
