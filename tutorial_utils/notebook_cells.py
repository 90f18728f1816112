"""What a notebook cell displays of the package itself: ``show_source`` shows the teaching
code where it is explained. (The badge and setup cell every notebook opens with are
authoring helpers: ``tools/notebook_cells.py``.)"""

from __future__ import annotations

__all__ = ["show_source"]


def show_source(obj) -> None:
    """Display the source code of a function or class from ``tutorial_utils`` in a notebook,
    so the teaching code stays visible where it is explained (one source, no copy)."""
    import inspect

    source = inspect.getsource(obj)
    try:
        from IPython.display import Markdown, display

        display(Markdown(f"```python\n{source}```"))
    except ImportError:  # plain Python: print it
        print(source)
