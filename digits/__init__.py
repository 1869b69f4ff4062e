"""digits: everything between a person's drawing and the 28x28 array the network reads.

    canvas.py       pen strokes -> pixels: the one stroke renderer, and the page's pens
    preprocess.py   a drawing (a PNG of any size and background) -> the 28x28 MNIST would have made
    strokes.py      pen width in a raster: thinning to centre lines, redrawing, measuring
    augment.py      random slant, size, pen and wobble for training batches
    synthetic.py    digits drawn in the styles MNIST's writers rarely used, for training
    mnist.py        getting MNIST onto disk: mirrors, SHA-256, $MNIST_DIR
    report.py       the CPU's name and the plots of a training run

This is the app's side of the project: it speaks PNG, pens and canvases, and uses Pillow (and
Matplotlib for plots). The teaching library `nn` knows none of it and never imports it; `digits`
uses `nn` only for reading IDX files.
"""
