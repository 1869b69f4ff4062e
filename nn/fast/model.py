"""nn's Sequential on the fast layers: the same model, whose first layer skips its dx in
training, and which DataParallel can copy into replicas."""

from .. import model as plain
from .layers import LAYERS


class Sequential(plain.Sequential):
    """nn.Sequential of fast layers (nn.fast.layers): the same forward, predict, save and load."""

    def backward(self, dout):
        """Fill every layer's grads, last layer first. Nothing comes before the first layer, so
        its dx (a third of a Conv2D's backward) is not computed: returns None."""
        for i in reversed(range(len(self.layers))):
            dout = self.layers[i].backward(dout, input_grad=i > 0)
        return dout

    def replica(self, chunk: int | None = None) -> "Sequential":
        """A twin that shares this model's parameter arrays, with its own caches, grads and
        dropout masks, its convolutions taking `chunk` images at a time (see layers.Fast)."""
        return Sequential([layer.replica(chunk) for layer in self.layers], self.meta)


def cnn(seed: int = 0, dropout: float = 0.0, hidden: int = 128) -> Sequential:
    """nn.cnn, of fast layers: the same weights for the same seed."""
    return Sequential(plain.cnn(seed, dropout, hidden, kinds=LAYERS).layers)


def mlp(seed: int = 0) -> Sequential:
    """nn.mlp, of fast layers: the same weights for the same seed."""
    return Sequential(plain.mlp(seed, kinds=LAYERS).layers)


def load(path) -> Sequential:
    """nn.load(path): a model saved by nn.save, on fast layers."""
    return plain.read_model(path, LAYERS, Sequential)
