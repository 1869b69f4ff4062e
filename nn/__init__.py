"""nn: a small neural-network library written from scratch in NumPy, to read and to run.

Read it in this order: layers.py (the layer contract and every layer, forward and backward),
losses.py, optim.py (SGD, Adam), model.py (a model is a list of layers; files), gradcheck.py
(how we know each backward is right), data.py (MNIST's IDX files). Then nn/fast/: the same
layers, model and Adam on compiled numba kernels (direct and Winograd convolutions, fused Adam,
a training step on every core), each checked against its plain twin here.

    import nn
    model = nn.load("weights/mnist_cnn.npz")   # on nn.fast's kernels; fast=False: plain NumPy
    probs = model.predict(x)          # x float32 (N, 1, 28, 28) in 0..1, 1 = ink -> (N, 10)

It is deliberately small: no autograd, no GPU, no layer zoo. `import nn` needs NumPy only
(nn.fast, imported by nn.load, adds numba). It knows arrays only: nothing about drawings,
images, files of pictures or the web (that is the app's side, in the packages beside it).
"""

from . import data
from .layers import Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, ReLU
from .losses import softmax, softmax_cross_entropy
from .model import Sequential, cnn, load, load_state, mlp, save, save_state
from .optim import EMA, SGD, Adam

__all__ = ["data", "Conv2D", "Dense", "Dropout", "Flatten", "Layer", "MaxPool2D", "ReLU",
           "softmax", "softmax_cross_entropy", "Sequential", "cnn", "mlp", "load", "save",
           "load_state", "save_state", "SGD", "Adam", "EMA"]
