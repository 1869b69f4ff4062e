"""digits: everything between a person's drawing and the 28x28 array the network reads.

    canvas.py       pen strokes -> pixels: the one stroke renderer, and the page's pens
    drawing.py      a drawing as it arrives (PNG bytes or strokes) read, or refused with a reason
    preprocess.py   a drawing (PNG or strokes) -> the 28x28 MNIST would have made of it
    strokes.py      pen width in a raster: thinning to centre lines, redrawing, measuring
    augment.py      random slant, size, pen and wobble for training batches
    synthetic.py    digits drawn in the styles MNIST's writers rarely used, for training
    mnist.py        getting MNIST onto disk: mirrors, SHA-256, $MNIST_DIR
    unipen.py       UNIPEN's real writers' digits, read from $UNIPEN_DIR (never stored here)
    report.py       the CPU's name and the plots of a training run
    explain.py      what the page's "Look inside" panel shows: maps, filters, saliency
    neighbours.py   the MNIST training digits nearest to a drawing, as the network sees them

This is the app's side of the project: it speaks PNG, pens and canvases, and uses Pillow (and
Matplotlib for plots). The teaching library `nn` knows none of it and never imports it; `digits`
uses `nn` only for reading IDX files.
"""
