"""Secondary tools, each run from the repository's root as `python -m scripts.NAME`:

    adaptation           a person's corrections on UNIPEN writers: their accuracy before/after
    bench_explain        what the Look inside answer costs (size, CPU), or a running server's
    bench_server         how fast serve.py answers over real HTTP (bench.py --server runs it)
    crossval             train.py's settings cross-validated over UNIPEN's and pendigits'
                         training writers
    export_drawings      the drawings labelled on the page as MNIST-style IDX files
    hand_drawn           hand-writing styles drawn with the page's pens, read by the model
    plot_pendigits       docs/pendigits.png: pendigits' coarse strokes, smoothed, as seen
    plot_preprocess      docs/preprocess_steps.png: a drawing through every preprocessing step
    plot_augmentations   docs/augmentations.png: what training-time augmentation does; --time
    profile_step         where a training step's time goes, layer by layer, on one core

The README's table of figures says which command makes each; the top-level commands (train.py,
serve.py, bench.py, evaluate_drawings.py) make most, and these help look closer (docs/). No
script imports another.
"""
