"""nn.fast: nn's layers, model and Adam again, on numba kernels. What train.py and serve.py run.

Each class here is a subclass of its plain twin in nn (same parameters, same file format, the
same numbers up to float32 rounding; tests/test_fast_layers.py holds them equal), plus what
speed needs and the textbook does without: convolutions by im2col, Winograd or a direct loop,
chosen by Conv2D(algorithm=...); first layers that skip dx; replicas and chunks for
DataParallel, one training step on every core. Read in this order: layers.py, model.py,
optim.py, parallel.py, then the kernels: kernels.py, direct.py, winograd.py, each beside a
NumPy twin with the same signature.

    import nn.fast
    model = nn.fast.cnn(seed=0)
    trainer = nn.fast.DataParallel(model, workers=2)
    loss, logits = trainer.forward_backward(x, y)     # fills model's grads
    nn.fast.Adam(model.parameters()).step()

Importing it compiles the kernels (or loads them from numba's cache).
"""

from .layers import ALGORITHMS, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from .model import Sequential, cnn, load, mlp
from .optim import Adam
from .parallel import DataParallel

__all__ = ["ALGORITHMS", "Conv2D", "Dense", "Dropout", "Flatten", "MaxPool2D", "ReLU",
           "Sequential", "cnn", "load", "mlp", "Adam", "DataParallel"]
