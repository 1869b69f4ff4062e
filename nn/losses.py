"""Softmax cross-entropy, fused with its gradient.

Why fused: softmax followed by cross-entropy has a famously simple derivative,
dL/dlogits = (softmax(logits) - onehot(y)) / N, and computing the two together is both
cheaper and numerically safer than differentiating each on its own (the separate softmax
Jacobian would divide by probabilities that can underflow to 0).

What this is not: a general loss zoo. One loss, the one classification needs.
"""

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits (N, K) -> probabilities (N, K), rows summing to 1."""
    # Subtracting the row max changes nothing mathematically (it cancels in the ratio) but
    # keeps exp() <= 1, so logits of 1e4 give no inf and no nan.
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray, smoothing: float = 0.0
                          ) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

    Inputs:  logits (N, K) float; y (N,) integers in 0..K-1; smoothing in [0, 1): the target
             puts 1 - smoothing on the label and smoothing / K on every class (label smoothing,
             Szegedy et al. 2016), which keeps the network from pushing logits apart for ever.
    Returns: (loss, dlogits) with loss a Python float and dlogits (N, K), same dtype as logits.
    """
    N, K = logits.shape
    z = logits - logits.max(axis=1, keepdims=True)   # max-shift: exp never overflows
    log_sum = np.log(np.exp(z).sum(axis=1, keepdims=True))
    log_probs = z - log_sum                           # log-softmax, no log(0) possible
    target = np.full_like(log_probs, smoothing / K)
    target[np.arange(N), y] += 1.0 - smoothing
    loss = -(target * log_probs).sum(axis=1).mean()
    dlogits = (np.exp(log_probs) - target) / N        # softmax - target
    return float(loss), dlogits.astype(logits.dtype, copy=False)
