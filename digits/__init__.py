"""digits: a person's drawing -> the 28x28 arrays the network reads.

    canvas.py       pen strokes -> pixels: the one stroke renderer, and the page's pens
    drawing.py      a drawing as it arrives (PNG bytes or strokes) read, or refused with a reason
    preprocess.py   a drawing (PNG or strokes) -> the 28x28 MNIST would have made of it
    strokes.py      pen width in a raster: thinning to centre lines, redrawing, measuring

What this package is not: the network (nn), where training digits come from (training), or the
server's features (web). It speaks PNG, pens and canvases (NumPy, Pillow, SciPy, two numba
loops) and imports no other package of this project.
"""
