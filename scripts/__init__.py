"""Secondary tools, each run from the repository's root as `python -m scripts.NAME`:

    adaptation           a person's corrections on UNIPEN writers: their accuracy before/after
    bench_server         how fast serve.py answers over real HTTP (bench.py --server runs it)
    export_drawings      the drawings labelled on the page as MNIST-style IDX files
    hand_drawn           hand-writing styles drawn with the page's pens, read by the model
    plot_preprocess      docs/preprocess_steps.png: a drawing through every preprocessing step
    plot_augmentations   docs/augmentations.png: what training-time augmentation does
    profile_step         where a training step's time goes, layer by layer, on one core

The numbers in the README come from the top-level commands (train.py, serve.py, bench.py,
evaluate_drawings.py); these help look closer. No script imports another.
"""
