"""Optimisers: how a gradient becomes a step.

Both work in place on the arrays of a model's `parameters()`, a list of (params, grads) dict
pairs, one pair per layer, so that the optimiser never needs to know what a layer is.
Their `state_dict()` / `load_state_dict()` let a checkpoint resume a run exactly.
Plain NumPy: nn.fast.Adam takes the same step in one compiled pass per array.
"""

import numpy as np


class SGD:
    """Stochastic gradient descent with momentum (Polyak's heavy ball, as PyTorch writes it):

        v = momentum * v + g        (+ weight_decay * param folded into g)
        param -= lr * v
    """

    def __init__(self, parameters, lr=0.01, momentum=0.9, weight_decay=0.0):
        self.parameters, self.lr = parameters, lr
        self.momentum, self.weight_decay = momentum, weight_decay
        self.v = [{k: np.zeros_like(p) for k, p in params.items()} for params, _ in parameters]

    def step(self):
        for (params, grads), v in zip(self.parameters, self.v):
            for k, p in params.items():
                g = grads[k] + self.weight_decay * p if self.weight_decay else grads[k]
                v[k] *= self.momentum
                v[k] += g
                p -= self.lr * v[k]

    def state_dict(self):
        return {"v": self.v}

    def load_state_dict(self, state):
        _copy_into(self.v, state["v"])


class Adam:
    """Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization", Algorithm 1),
    with decoupled weight decay when weight_decay > 0 (AdamW, Loshchilov & Hutter 2019).
    """

    def __init__(self, parameters, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        self.parameters, self.lr = parameters, lr
        self.beta1, self.beta2, self.eps, self.weight_decay = beta1, beta2, eps, weight_decay
        self.t = 0
        self.m = [{k: np.zeros_like(p) for k, p in params.items()} for params, _ in parameters]
        self.v = [{k: np.zeros_like(p) for k, p in params.items()} for params, _ in parameters]

    def step(self):
        self.t += 1
        lr, beta1, beta2, eps, t = self.lr, self.beta1, self.beta2, self.eps, self.t
        for (params, grads), m, v in zip(self.parameters, self.m, self.v):
            for k, p in params.items():
                g = grads[k]
                m[k][...] = beta1 * m[k] + (1 - beta1) * g      # a running mean of gradients
                v[k][...] = beta2 * v[k] + (1 - beta2) * g * g  # ... and of their squares
                m_hat = m[k] / (1 - beta1 ** t)                 # bias correction: m, v start at 0
                v_hat = v[k] / (1 - beta2 ** t)
                p -= lr * (m_hat / (np.sqrt(v_hat) + eps) + self.weight_decay * p)

    def state_dict(self):
        return {"t": self.t, "m": self.m, "v": self.v}

    def load_state_dict(self, state):
        self.t = int(state["t"])
        _copy_into(self.m, state["m"])
        _copy_into(self.v, state["v"])


def _copy_into(dst, src):
    """Copy a saved list of {name: array} into the live one, shape by shape."""
    for d, s in zip(dst, src):
        for k in d:
            d[k][...] = s[k]


class EMA:
    """An exponential moving average of the weights, to evaluate and keep instead of the last
    ones (Polyak & Juditsky 1992 averaged the iterates; the moving average is how most
    training recipes do it today):

        t += 1
        decay_t = min(decay, (1 + t) / (10 + t))     short memory at first: the start is noise
        average = decay_t * average + (1 - decay_t) * param

    The last steps' weights each sit somewhere in a valley the noise of small batches keeps
    them bouncing around; their average sits nearer its floor, which tends to generalise a
    little better. `swap()` exchanges the averages and the live weights in place (the arrays a
    model and its replicas share), so evaluate between two swaps, or swap once to keep them.
    """

    def __init__(self, parameters, decay=0.999):
        self.parameters, self.decay, self.t = parameters, decay, 0
        self.average = [{k: p.copy() for k, p in params.items()} for params, _ in parameters]

    def update(self):
        self.t += 1
        decay = min(self.decay, (1 + self.t) / (10 + self.t))
        for (params, _), average in zip(self.parameters, self.average):
            for k, p in params.items():
                average[k] *= decay
                average[k] += (1 - decay) * p

    def swap(self):
        for (params, _), average in zip(self.parameters, self.average):
            for k, p in params.items():
                kept = p.copy()
                p[...] = average[k]
                average[k][...] = kept

    def state_dict(self):
        return {"t": self.t, "average": self.average}

    def load_state_dict(self, state):
        self.t = int(state["t"])
        _copy_into(self.average, state["average"])
