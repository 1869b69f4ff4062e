"""A model is a list of layers; and a model file is its weights plus the list, in one .npz.

    model = Sequential([Conv2D(1, 32, 3, padding=1), ReLU(), ...])
    logits = model.forward(x, train=True)      # layer by layer, front to back
    dx = model.backward(dlogits)               # the same list, back to front
    probs = model.predict(x)                   # inference: batches, float32, softmax

`load(path)` gives the model on nn.fast's compiled layers (imported then, not with nn);
`load(path, fast=False)` the same weights in the plain layers of layers.py.

`save(model, path)` writes an ordinary NumPy .npz archive: one array per parameter, named
"<layer index>.<param name>" (e.g. "0.w"), plus "architecture" and "meta", two JSON strings
stored as plain unicode arrays. Nothing is pickled, so loading a file from a stranger cannot
run code (`allow_pickle=False`), and `load(path)` needs nothing but the file: it rebuilds the
layers from the architecture and checks every array's shape against it.

`save_state(path, state)` / `load_state(path)` do the same for a training checkpoint: any nested
dict of arrays and plain values, such as {"model": model.state_dict(), "optimiser":
adam.state_dict()}; the arrays go into the .npz, the rest into one JSON string beside them.
"""

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .layers import LAYERS, Layer
from .losses import softmax

FORMAT = "handwritten-digits/nn-model/1"
STATE_FORMAT = "handwritten-digits/nn-state/1"


class Sequential:
    """Layers applied in order. `meta` is a free dict of facts saved with the weights."""

    def __init__(self, layers: list[Layer], meta: dict | None = None):
        self.layers = list(layers)
        self.meta = dict(meta or {})

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, train)
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Fill every layer's grads, last layer first; returns dL/d(input)."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def parameters(self) -> list[tuple[dict, dict]]:
        """(params, grads) of every layer that has parameters: what an optimiser updates."""
        return [(layer.params, layer.grads) for layer in self.layers if layer.params]

    def num_parameters(self) -> int:
        return sum(p.size for params, _ in self.parameters() for p in params.values())

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Probabilities (N, 10) for images x float32 (N, 1, 28, 28) in 0..1 (1 = ink)."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 4:
            raise ValueError(f"predict expects images of shape (N, C, H, W), got {x.shape}")
        out = [softmax(self.forward(x[i:i + batch_size], train=False))
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, 10), np.float32)

    def activations(self, x: np.ndarray) -> list[np.ndarray]:
        """Look inside: the output of every layer for x (inference), in order; the last is the
        logits. activations(x)[i] is what layer i passes on: feature maps after a Conv2D, the
        hidden features after a Dense + ReLU."""
        outputs = []
        for layer in self.layers:
            x = layer.forward(x, train=False)
            outputs.append(x)
        return outputs

    def input_gradient(self, x: np.ndarray, dout: np.ndarray) -> np.ndarray:
        """dL/dx: backpropagation carried one layer further than training needs, to the input.

        x: inputs, e.g. images (N, 1, 28, 28); dout: dL/d(output) for the output the model
        computes from x, (N, 10) for the CNN. With dout one-hot on a class, the answer says how
        each pixel moves that class's logit: a saliency map (Simonyan et al. 2014,
        "Deep Inside Convolutional Networks"). Returns an array shaped like x.

        It is the gradient of inference, of what `predict` computes. So a layer that hands its
        input back unchanged at inference (Dropout) is left out of the path: in training mode it
        would multiply the gradient by a random mask (one image is enough to ask a layer). Every
        other layer runs forward(x, train=True), keeping what its backward needs. As in a training
        step, the layers' grads are overwritten.
        """
        path = []
        for layer in self.layers:
            probe = x[:1]
            if layer.forward(probe, train=False) is probe:  # the identity at inference: skip it
                continue
            x = layer.forward(x, train=True)
            path.append(layer)
        for layer in reversed(path):
            dout = layer.backward(dout)
        return dout

    def architecture(self) -> list[dict]:
        return [{"type": type(layer).__name__, **layer.config()} for layer in self.layers]

    def state_dict(self) -> dict:
        """Everything training changes: each layer's params and its own state (see layers.py)."""
        return {"architecture": self.architecture(),
                "params": [dict(layer.params) for layer in self.layers],
                "layers": [layer.state_dict() for layer in self.layers]}

    def load_state_dict(self, state: dict) -> None:
        """Copy a state_dict of the same architecture into this model's arrays."""
        if state["architecture"] != self.architecture():
            raise ValueError("the saved state is of another architecture: "
                             f"{state['architecture']} is not {self.architecture()}")
        for layer, params, own in zip(self.layers, state["params"], state["layers"]):
            for k, p in layer.params.items():
                p[...] = params[k]
            layer.load_state_dict(own)

    def __repr__(self) -> str:
        lines = [f"  {i}: {layer!r}" for i, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + f"\n)  # {self.num_parameters():,} parameters"


# ----------------------------------------------------------------------------- architectures
def cnn(seed: int = 0, dropout: float = 0.0, hidden: int = 128, kinds=None) -> Sequential:
    """The default CNN: two 3x3 conv + pool stages, then a hidden layer of `hidden` units.

    (N,1,28,28) -conv-> (N,32,28,28) -pool-> (N,32,14,14) -conv-> (N,64,14,14) -pool->
    (N,64,7,7) -flatten-> (N,3136) -dense-> (N,hidden) -dense-> (N,10) logits.
    `kinds` (name -> layer class, like LAYERS) builds it of other layers: nn.fast.cnn's.
    """
    Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU = _kinds(kinds)
    rng = np.random.default_rng(seed)
    layers = [
        Conv2D(1, 32, 3, padding=1, seed=rng), ReLU(), MaxPool2D(2),
        Conv2D(32, 64, 3, padding=1, seed=rng), ReLU(), MaxPool2D(2),
        Flatten(),
    ]
    if dropout:
        layers.append(Dropout(dropout / 2, seed=int(rng.integers(2**31))))
    layers += [Dense(64 * 7 * 7, hidden, seed=rng), ReLU()]
    if dropout:
        layers.append(Dropout(dropout, seed=int(rng.integers(2**31))))
    layers.append(Dense(hidden, 10, seed=rng))
    return Sequential(layers)


def mlp(seed: int = 0, kinds=None) -> Sequential:
    """A multilayer perceptron 784-256-128-10, the baseline every MNIST course starts from."""
    _, Dense, _, Flatten, _, ReLU = _kinds(kinds)
    rng = np.random.default_rng(seed)
    return Sequential([Flatten(), Dense(784, 256, seed=rng), ReLU(),
                       Dense(256, 128, seed=rng), ReLU(), Dense(128, 10, seed=rng)])


def _kinds(kinds):
    kinds = kinds or LAYERS
    return [kinds[name] for name in ("Conv2D", "Dense", "Dropout", "Flatten", "MaxPool2D", "ReLU")]


# ----------------------------------------------------------------------------- files
def model_arrays(model: Sequential) -> dict[str, np.ndarray]:
    """Every parameter under its file name "<layer index>.<param name>"."""
    return {f"{i}.{k}": p for i, layer in enumerate(model.layers) for k, p in layer.params.items()}


def save(model: Sequential, path, meta: dict | None = None) -> None:
    """Write model (weights + architecture + meta) to `path` atomically: a write goes to a
    temporary file first and is renamed into place, so a crash never leaves half a file."""
    arrays = model_arrays(model)
    arrays["format"] = np.array(FORMAT)
    arrays["architecture"] = np.array(json.dumps(model.architecture()))
    arrays["meta"] = np.array(json.dumps({**model.meta, **(meta or {})}))
    _write_npz(Path(path), arrays)


def load(path, fast: bool = True) -> Sequential:
    """Rebuild a model saved by `save`: on nn.fast's compiled layers, or with fast=False on the
    plain ones of layers.py (the same answers up to float32 rounding). Raises FileNotFoundError
    or a ValueError that says exactly what is wrong with the file (not a model, unknown layer,
    wrong array shape...)."""
    if fast:
        from . import fast as compiled  # here, not at the top: `import nn` loads no numba
        return compiled.load(path)
    return read_model(path, LAYERS, Sequential)


def read_model(path, kinds: dict, sequential=Sequential) -> Sequential:
    """`load` with the layer classes `kinds` (name -> class) and the model class `sequential`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}: pass the path of a .npz saved by "
                                "nn.save (or train and save a model first)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"{path} is not a model file saved by nn.save "
                         f"(not a readable .npz archive: {e})") from None
    if "architecture" not in arrays or "format" not in arrays:
        raise ValueError(f"{path} is a .npz archive but not a model saved by nn.save: "
                         f"it has no 'architecture'/'format' entry (it has {sorted(arrays)[:8]})")
    try:
        architecture = json.loads(str(arrays.pop("architecture")))
        meta = json.loads(str(arrays.pop("meta", "{}")))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: the architecture or meta entry is not valid JSON ({e})"
                         ) from None
    arrays.pop("format")
    model = sequential(_build_layers(architecture, path, kinds), meta)
    for name, param in model_arrays(model).items():
        if name not in arrays:
            raise ValueError(f"{path}: array '{name}' is missing (the architecture needs it with "
                             f"shape {param.shape})")
        saved = arrays.pop(name)
        if saved.shape != param.shape:
            raise ValueError(f"{path}: array '{name}' has shape {saved.shape} but the architecture "
                             f"needs {param.shape}")
        if not np.issubdtype(saved.dtype, np.floating) or not np.isfinite(saved).all():
            raise ValueError(f"{path}: array '{name}' is not finite floating-point numbers")
        param[...] = saved
    return model


def save_state(path, state: dict) -> None:
    """Write a nested dict of arrays and JSON values to `path` (.npz), atomically, no pickles.

    Every array becomes an entry named after where it sits ("optimiser/m/0/w"); the tree, with
    each array replaced by {"array": that name}, is stored as JSON in the entry "state".
    """
    arrays: dict[str, np.ndarray] = {}

    def strip(node, where):
        if isinstance(node, np.ndarray):
            arrays[where] = node
            return {"array": where}
        if isinstance(node, dict):
            return {str(k): strip(v, f"{where}/{k}") for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [strip(v, f"{where}/{i}") for i, v in enumerate(node)]
        return node.item() if isinstance(node, np.generic) else node

    tree = json.dumps(strip(state, "state"))
    _write_npz(Path(path), {**arrays, "format": np.array(STATE_FORMAT), "state": np.array(tree)})


def load_state(path) -> dict:
    """Read what `save_state` wrote; a ValueError says what is wrong with a damaged file."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
        if str(arrays.get("format")) != STATE_FORMAT:
            raise ValueError("it has no state saved by nn.save_state")
        tree = json.loads(str(arrays["state"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"{path} is not a state file saved by nn.save_state ({e})") from None

    def fill(node):
        if isinstance(node, dict):
            if set(node) == {"array"} and isinstance(node["array"], str):
                return arrays[node["array"]]
            return {k: fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        return node

    try:
        return fill(tree)
    except KeyError as e:
        raise ValueError(f"{path} lacks the array {e} that its state names: it is damaged"
                         ) from None


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez to a temporary file beside `path`, then rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _build_layers(architecture, path, kinds) -> list[Layer]:
    if not isinstance(architecture, list):
        raise ValueError(f"{path}: the architecture must be a list of layers")
    layers = []
    for i, spec in enumerate(architecture):
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in kinds:
            raise ValueError(f"{path}: layer {i} has unknown type {kind!r} "
                             f"(known: {', '.join(kinds)})")
        args = {k: v for k, v in spec.items() if k != "type"}
        try:
            layers.append(kinds[kind](**args))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: layer {i} ({kind}) has bad arguments {args}: {e}"
                             ) from None
    return layers


__all__ = ["Sequential", "cnn", "mlp", "save", "load", "read_model", "save_state", "load_state",
           "model_arrays"]
