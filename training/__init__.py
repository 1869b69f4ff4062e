"""training: where train.py's digits come from, and what a training run reports.

    mnist.py        getting MNIST onto disk: mirrors, SHA-256, $MNIST_DIR
    unipen.py       UNIPEN's real writers' digits, read from $UNIPEN_DIR (never stored here)
    handwriting.py  pen strokes -> training images, through the page's own preprocessing
    synthetic.py    digits drawn in the styles MNIST's writers rarely used
    augment.py      random slant, size, pen and wobble for training batches
    report.py       the CPU's name and the plots of a training run

What this package is not: the network (nn) or the drawing pipeline (digits), which it uses to
draw pen traces the way the page's drawings are drawn. It reads files; it never downloads
anything but MNIST, and keeps no data set in the repository.
"""
