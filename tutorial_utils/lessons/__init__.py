"""Code that one lesson teaches with and nothing else builds on:

* :mod:`tutorial_utils.lessons.tetris` – the 3D Tetris shapes and the three models of notebook 01
  (plain MLP, distance MLP, e3nn network);
* :mod:`tutorial_utils.lessons.symmetry_breaking` – a square that an equivariant network cannot
  deform into a rectangle, and the learned order parameter that lets it (notebook 01);
* :mod:`tutorial_utils.lessons.emt` – a vectorised effective-medium potential for copper, for the
  melting run of notebook 03.
"""
