"""Authoring-only helpers: used by the data generators (``data/*/generate.py``), the scripts
and the tests, never by a notebook, so they are not part of the installed package
``tutorial_utils`` that a Colab participant gets.

* :mod:`tools.datagen` – npz files without pickle, provenance stamps, part locks, manifests;
* :mod:`tools.notebook_cells` – the Colab badge address and the setup cell every notebook opens with.
"""
