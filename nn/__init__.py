"""nn: a small neural-network library written from scratch in NumPy, with numba kernels.

Read it in this order: layers.py (the layer contract and every layer), losses.py, optim.py,
model.py (a model is a list of layers; files), parallel.py (a training step on every core),
kernels.py (the compiled hot loops beside their NumPy twins), winograd.py and direct.py (two
faster ways to convolve, for the shapes of a CNN's 3x3 layers), gradcheck.py (how we know each
backward is right), data.py (MNIST's IDX files).

    import nn
    model = nn.load("weights/mnist_cnn.npz")
    probs = model.predict(x)          # x float32 (N, 1, 28, 28) in 0..1, 1 = ink -> (N, 10)

It is deliberately small: no autograd, no GPU, no layer zoo. Each derivative is written by
hand and checked numerically, so you can read how a network learns from top to bottom. It knows
arrays only: it needs NumPy and numba, and nothing about drawings, images, files of pictures or the
web (that is the app's side, the `digits` package beside it).
"""

from . import data
from .layers import Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, ReLU
from .losses import softmax, softmax_cross_entropy
from .model import Sequential, cnn, load, load_state, mlp, save, save_state
from .optim import EMA, SGD, Adam
from .parallel import DataParallel

__all__ = ["data", "Conv2D", "Dense", "Dropout", "Flatten", "Layer", "MaxPool2D", "ReLU",
           "softmax", "softmax_cross_entropy", "Sequential", "cnn", "mlp", "load", "save",
           "load_state", "save_state", "SGD", "Adam", "EMA", "DataParallel"]
