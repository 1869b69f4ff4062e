"""How fast is nn? Times the committed CNN (nn.fast.cnn with train.py's 256 hidden units) and an
MLP, and the same models in PyTorch if installed.

    python bench.py                # human-readable table
    python bench.py --json         # ... and one JSON object as the last line
    python bench.py --server       # also the HTTP API (latency, requests/s with 8 clients)
    python bench.py --train        # also time `python train.py` afresh (about 3 minutes)

For each model: a full training step at batch 128 (forward, backward, Adam), single-image
inference latency (median and p99) and batch-256 inference throughput. PyTorch, when installed
(`pip install -e .[bench]`), runs the same architectures in the same process with the same
thread count, and the ratios are printed. nn trains the CNN as train.py does: nn.fast.DataParallel
with one thread per core (the MLP with one thread and BLAS on every core). The two take
turns in blocks (ten training steps of nn, ten of PyTorch, ...), so a burst of load from
elsewhere on the machine hits both alike, while neither starts every step among the other's
still-spinning threads (alternating step by step cost nn about 15%); the spread of the ratios
of neighbouring steps is printed too. nn also reports the GFLOP/s its training step
achieves against NumPy's own SGEMM on this machine, which is the ceiling for a library whose
heavy lifting is matrix multiplies (for the CNN an effective rate: the work of a plain
convolution, which Winograd's algorithm does with fewer multiplies; see train_flops).
Time to accuracy: the wall time and MNIST test accuracy in the report of the model --weights
names (train.py writes it beside the weights), or, with --train, of a `python train.py` run
made now into a temporary folder (extra arguments after --train go to train.py).

On machines where OPENBLAS_CORETYPE is set (it pins OpenBLAS to older kernels), run
`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench.py` to measure what users get.
Timing is noisy on a shared machine: medians of many repeats, and the machine is printed.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import nn
import nn.fast
from training.report import cpu_name

BATCH = 128
TRAIN_BLOCK = 10  # training steps in a row before the other library takes its turn
HIDDEN = 256  # the CNN's hidden units, as train.py trains the committed model (--hidden)


def interleaved(fns: dict, repeats: int, block: int = 1, warmup: int = 3) -> dict:
    """Seconds per call of each fn in `fns` (repeats calls each), taking turns in blocks of
    `block` calls (A B A B ... for block 1), after a few warm-up calls each (numba compiles,
    caches fill): both meet the same machine, load and all."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    out = {name: [] for name in fns}
    while len(out[next(iter(fns))]) < repeats:
        for name, fn in fns.items():
            for _ in range(block):
                t0 = time.perf_counter()
                fn()
                out[name].append(time.perf_counter() - t0)
    return {name: np.array(t[:repeats]) for name, t in out.items()}


def timings(fn, repeats: int, warmup: int = 3) -> np.ndarray:
    return interleaved({"fn": fn}, repeats, warmup)["fn"]


def train_flops(model: nn.Sequential, image_shape=(1, 28, 28)) -> float:
    """Floating-point operations of one training image: 2 per multiply-add, forward + 2x backward
    (dL/dx and dL/dw each cost as much as the forward pass), counted as a plain convolution
    does them. nn's Winograd convolutions do 2.25x fewer, so for the CNN this is an effective
    rate, comparable with PyTorch's work but not with SGEMM's."""
    x = np.zeros((1, *image_shape), np.float32)
    flops = 0
    for layer in model.layers:
        out = layer.forward(x)
        if isinstance(layer, nn.Conv2D):
            flops += 2 * out.size * layer.params["w"][0].size
        elif isinstance(layer, nn.Dense):
            flops += 2 * layer.params["w"].size
        x = out
    return 3.0 * flops


def sgemm_gflops(n: int = 2048) -> float:
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    return 2 * n**3 / np.median(timings(lambda: a @ a, 7, warmup=2)) / 1e9


def nn_calls(model: nn.Sequential, x, y, x1, x256, threads: int | None) -> dict:
    """What is timed, as functions: a training step (through DataParallel over `threads` cores,
    as train.py trains the CNN, or with threads None plain forward and backward on one thread
    with BLAS on every core), and inference on 1 and on 256 images."""
    trainer = nn.fast.DataParallel(model, workers=threads) if threads else None
    optimiser = nn.fast.Adam(model.parameters())

    def step():
        if trainer:
            trainer.forward_backward(x, y)
        else:
            model.backward(nn.softmax_cross_entropy(model.forward(x, train=True), y)[1])
        optimiser.step()

    return {"train": step, "infer1": lambda: model.predict(x1),
            "infer256": lambda: model.predict(x256)}


def torch_model(name: str):
    import torch.nn as tnn

    if name == "cnn":
        return tnn.Sequential(
            tnn.Conv2d(1, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(32, 64, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
            tnn.Linear(3136, HIDDEN), tnn.ReLU(), tnn.Linear(HIDDEN, 10))
    return tnn.Sequential(tnn.Flatten(), tnn.Linear(784, 256), tnn.ReLU(),
                          tnn.Linear(256, 128), tnn.ReLU(), tnn.Linear(128, 10))


def torch_calls(name: str, x, y, x1, x256) -> dict:
    import torch

    model = torch_model(name)
    optimiser = torch.optim.Adam(model.parameters())
    x, y, x1, x256 = (torch.from_numpy(a) for a in (x, y, x1, x256))

    def step():
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimiser.step()

    def predict(batch):
        with torch.no_grad():  # no dropout or batch norm here: train and eval modes agree
            return torch.softmax(model(batch), dim=1)

    return {"train": step, "infer1": lambda: predict(x1), "infer256": lambda: predict(x256)}


def bench_pair(calls: dict, repeats: int) -> dict:
    """Time each of nn's and PyTorch's calls (whichever are in `calls`) in turns."""
    # Everything alternates in blocks: right after the other library, its idle threads still
    # spin for a while (OpenBLAS's for up to 0.1 s); one-image calls alternating with them
    # measured 24 ms (nn) and 72 ms (PyTorch) instead of 0.18 and 0.33 ms, and training steps
    # alternating one by one gave nn 0.94x PyTorch against 0.98-1.10x in blocks of ten.
    times = {"train": interleaved({impl: c["train"] for impl, c in calls.items()}, repeats,
                                  block=TRAIN_BLOCK),
             "infer1": interleaved({impl: c["infer1"] for impl, c in calls.items()},
                                   20 * repeats, block=100),
             "infer256": interleaved({impl: c["infer256"] for impl, c in calls.items()},
                                     repeats, block=10)}
    result = {impl: summarise(times["train"][impl], times["infer1"][impl],
                              times["infer256"][impl]) for impl in calls}
    if "torch" in calls:  # nn/PyTorch of each pair of neighbouring steps
        pairs = times["train"]["torch"] / times["train"]["nn"]
        result["nn"]["train_ratio_pairs"] = [float(np.percentile(pairs, q)) for q in (10, 50, 90)]
    return result


def summarise(train, infer1, infer256) -> dict:
    return {
        "train_images_per_s": BATCH / float(np.median(train)),
        "train_step_ms": 1e3 * float(np.median(train)),
        "infer_batch1_ms": 1e3 * float(np.median(infer1)),
        "infer_batch1_p99_ms": 1e3 * float(np.percentile(infer1, 99)),
        "infer_batch256_images_per_s": 256 / float(np.median(infer256)),
    }


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Time nn (and PyTorch, if installed) on this machine.")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--repeats", type=int, default=30, help="training steps timed per model")
    p.add_argument("--server", action="store_true", help="also benchmark the HTTP API")
    p.add_argument("--weights", default="weights/mnist_cnn.npz",
                   help="model for --server, whose report gives the time to accuracy")
    p.add_argument("--train", nargs=argparse.REMAINDER, metavar="ARGS",
                   help="also run `python train.py ARGS` now and time it to its accuracy")
    args = p.parse_args(argv)

    threads = os.cpu_count() or 1
    has_torch = torch_available()
    if has_torch:
        import torch

        torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, BATCH)
    x1, x256 = x[:1].copy(), rng.random((256, 1, 28, 28), dtype=np.float32)

    print(f"machine: {cpu_name()}, Python {platform.python_version()}, NumPy {np.__version__}, "
          f"{threads} threads" + (f", PyTorch {torch.__version__}" if has_torch else
                                  ", PyTorch not installed (pip install -e .[bench])"))
    if os.environ.get("OPENBLAS_CORETYPE"):
        print(f"note: OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} pins OpenBLAS to older "
              "kernels; unset it (env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE) for full speed")
    sgemm = sgemm_gflops()
    print(f"NumPy SGEMM 2048x2048: {sgemm:.0f} GFLOP/s")

    results = {}
    # the MLP's step is three small multiplies: one thread with BLAS on every core beats
    # DataParallel there (measured 0.7x PyTorch through it, 1.4x without)
    for name, make, workers in (("cnn", lambda seed: nn.fast.cnn(seed, hidden=HIDDEN), threads),
                                ("mlp", nn.fast.mlp, None)):
        model = make(seed=0)
        calls = {"nn": nn_calls(model, x, y, x1, x256, workers)}
        if has_torch:
            calls["torch"] = torch_calls(name, x, y, x1, x256)
        r = {"torch": None, **bench_pair(calls, args.repeats)}
        r["nn"]["train_gflops"] = train_flops(model) * r["nn"]["train_images_per_s"] / 1e9
        results[name] = r
        print_table(name, r, sgemm)

    cnn = results["cnn"]
    summary = {
        "machine": cpu_name(), "threads": threads, "sgemm_gflops": sgemm,
        "train_images_per_s": {k: (cnn[k] or {}).get("train_images_per_s")
                               for k in ("nn", "torch")},
        "infer_batch1_ms": {k: (cnn[k] or {}).get("infer_batch1_ms") for k in ("nn", "torch")},
        "models": results,
    }
    if args.server:
        summary["server"] = bench_server(args.weights)
    summary["time_to_accuracy"] = time_to_accuracy(args.weights, args.train)
    if args.json:
        print(json.dumps(summary))
    return 0


def bench_server(weights: str) -> dict:
    """`python -m scripts.bench_server --json` in its own process (so the server it starts does
    not share this one's threads): its report is printed, and its JSON line returned."""
    print()
    result = subprocess.run([sys.executable, "-m", "scripts.bench_server", "--json",
                             "--weights", weights], stdout=subprocess.PIPE, text=True, check=True)
    lines = result.stdout.rstrip().splitlines()
    print("\n".join(lines[:-1]))
    return json.loads(lines[-1])


def time_to_accuracy(weights: str, train_args: list[str] | None) -> dict | None:
    """Wall time and MNIST test accuracy of a training run: from the report beside `weights`,
    and with `train_args` (a list, maybe empty) of `python train.py ARGS` run now."""
    print()
    found = {}
    report = Path(weights).with_suffix(".json")
    if report.is_file():
        r = json.loads(report.read_text())
        found["report"] = {"command": r.get("command"), "wall_time_s": r["wall_time_s"],
                           "test_accuracy": r["test_accuracy"]}
        print(f"time to accuracy, {report}: {r['wall_time_s']:.0f} s wall to "
              f"{r['test_accuracy']:.2%} MNIST test (`{r.get('command')}`, {r.get('cpu')})")
    else:
        print(f"time to accuracy: no report at {report} (train.py writes one beside the weights)")
    if train_args is not None:
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "bench.npz"
            command = [sys.executable, str(Path(__file__).resolve().parent / "train.py"),
                       *train_args, "--out", str(out)]
            print(f"running python train.py {' '.join(command[2:])} ...", flush=True)
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            r = json.loads(out.with_suffix(".json").read_text())
        found["now"] = {"command": "python train.py " + " ".join(train_args),
                        "wall_time_s": r["wall_time_s"], "test_accuracy": r["test_accuracy"]}
        print(f"time to accuracy, now: {r['wall_time_s']:.0f} s wall to "
              f"{r['test_accuracy']:.2%} MNIST test")
    return found or None


def print_table(name: str, r: dict, sgemm: float) -> None:
    rows = [("training step, batch 128", "train_images_per_s", "img/s", True),
            ("inference, 1 image (median)", "infer_batch1_ms", "ms", False),
            ("inference, 1 image (p99)", "infer_batch1_p99_ms", "ms", False),
            ("inference, batch 256", "infer_batch256_images_per_s", "img/s", True)]
    print(f"\n{name.upper():<30}{'nn':>12}{'PyTorch':>12}{'nn/PyTorch':>12}")
    for label, key, unit, higher_is_better in rows:
        mine = r["nn"][key]
        theirs = r["torch"][key] if r["torch"] else None
        ratio = "" if theirs is None else (
            f"{mine / theirs:.2f}x" if higher_is_better else f"{theirs / mine:.2f}x")
        fmt = "{:,.0f}" if unit == "img/s" else "{:.3f}"
        print(f"{label:<30}{fmt.format(mine):>9} {unit:<3}"
              f"{'' if theirs is None else fmt.format(theirs):>9} {unit if theirs else '':<3}"
              f"{ratio:>10}")
    if "train_ratio_pairs" in r["nn"]:
        low, mid, high = r["nn"]["train_ratio_pairs"]
        print(f"{'training step, pair by pair':<30}{'':>24}{mid:>10.2f}x "
              f"(10-90%: {low:.2f}x-{high:.2f}x)")
    g = r["nn"]["train_gflops"]
    print(f"{'nn training arithmetic':<30}{g:>9.1f} GFLOP/s = {100 * g / sgemm:.0f}% of SGEMM "
          "(ratios: above 1x means nn is faster)")


if __name__ == "__main__":
    sys.exit(main())
