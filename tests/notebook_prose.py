"""Two checks that keep a notebook's text and displays in step with what it computes.

1. **Displayed source** (``stale_source_displays``): a cell that runs
   ``show_source(obj)`` stores ``obj``'s source in its output. When the code in
   ``tutorial_utils`` changes, that stored display goes stale; this finds every such display
   that no longer equals ``inspect.getsource(obj)`` now.

2. **Numbers in the prose** (``unsupported_numbers``): a measured-looking number in a markdown
   cell must appear in one of the same notebook's outputs. The rule (notebooks/STYLE.md):

   - *checked*: decimals (``54.9``, ``0.82``), scientific notation (``1.3e-10``, ``1e-15``) and
     any number followed by ``%``;
   - *found* when an output prints it as written, or a printed number rounds to it at the
     precision written (``0.82`` matches a printed ``0.8213``; a percentage also matches a
     printed fraction, ``0.82 %`` matching ``0.0082``); a bare power of ten (``1e-15``) matches
     a printed number of the same order of magnitude;
   - *not checked* (parameters and literature): numbers inside math (``$...$``), code
     (backticks, fenced blocks) or link targets; every sentence that names its source
     ("et al.", a year in parentheses such as "(2021)", "arXiv", "doi"); the References
     section.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import math
import re
from decimal import ROUND_HALF_UP, Decimal

import nbformat

CHECKED_NUMBER = re.compile(
    r"(?<![\w.^_\\])(\d+\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+(?=\s?%))(?![\w.]*\d)")
PRINTED_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
CITATION = re.compile(r"et al\.|arXiv|\bdoi\b|\(\s*(?:19|20)\d\d[a-z]?\s*\)|,\s*(?:19|20)\d\d[a-z]?\)", re.I)
REFERENCES = re.compile(r"#+\s*References\b", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z*(\[])|\n\s*\n|\n\s*(?:[-*]|\d+\.)\s")


def _unchecked_removed(text: str) -> str:
    """Markdown with math, code and link targets blanked out (their numbers are not claims)."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", " ", text)
    text = re.sub(r"\$\$.+?\$\$", " ", text, flags=re.S)
    text = re.sub(r"(?<!\\)\$[^$\n]+?(?<!\\)\$", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"<!--.*?-->", " ", text, flags=re.S)


def output_texts(nb: nbformat.NotebookNode) -> list[str]:
    """Every text a notebook's outputs show: streams, plain text, markdown, HTML."""
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if "text" in out:
                texts.append(out["text"] if isinstance(out["text"], str) else "".join(out["text"]))
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/"):
                    texts.append(value if isinstance(value, str) else "".join(value))
    return texts


def printed_numbers(nb: nbformat.NotebookNode) -> set[float]:
    """The numbers the outputs of ``nb`` print, as floats."""
    found = set()
    for text in output_texts(nb):
        for token in PRINTED_NUMBER.findall(text):
            try:
                found.add(float(token))
            except ValueError:
                continue
    return found


def is_supported(written: str, printed: set[float], percent: bool = False) -> bool:
    """Whether the number ``written`` in prose appears among the ``printed`` ones (see module doc)."""
    value = float(written)
    mantissa = written.lower().split("e")[0]
    digits = len(mantissa.split(".")[1]) if "." in mantissa else 0
    if "e" in written.lower():
        if digits == 0 and mantissa == "1":  # a power of ten: the same order of magnitude
            decade = math.floor(math.log10(value))
            return any(p > 0 and math.floor(math.log10(p)) == decade for p in printed)
        return any(f"{p:.{digits}e}" == f"{value:.{digits}e}" for p in printed)
    candidates = [Decimal(repr(abs(p))) for p in printed]
    if percent:
        candidates += [c * 100 for c in candidates]
    target = Decimal(written).copy_abs()
    step = Decimal(1).scaleb(-digits)  # 10^-digits: the precision written
    return any(c.quantize(step, rounding=ROUND_HALF_UP) == target for c in candidates)


def prose_numbers(nb: nbformat.NotebookNode) -> list[tuple[int, str, bool, str]]:
    """Every checked number of the markdown cells: (cell index, number, followed by %, sentence)."""
    found = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        if REFERENCES.match(cell.source.strip()):
            break
        for sentence in SENTENCE_END.split(_unchecked_removed(cell.source)):
            if CITATION.search(sentence):
                continue
            for match in CHECKED_NUMBER.finditer(sentence):
                percent = sentence[match.end():].lstrip().startswith("%")
                found.append((k, match.group(1), percent, " ".join(sentence.split())))
    return found


def unsupported_numbers(nb: nbformat.NotebookNode) -> list[str]:
    """One line per prose number that no output of ``nb`` supports; empty when all are."""
    printed = printed_numbers(nb)
    return [f"markdown cell {k}: {number}{' %' if percent else ''} is printed by no output "
            f"(in: {sentence[:150]!r})"
            for k, number, percent, sentence in prose_numbers(nb)
            if not is_supported(number, printed, percent)]


# --------------------------------------------------------------------------- displayed source
def _imported_names(nb: nbformat.NotebookNode) -> dict[str, str]:
    """name -> dotted import path, from the ``import`` statements of every code cell."""
    names: dict[str, str] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}:{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    names[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
                        alias.name.split(".")[0]
    return names


def _resolve(expr: ast.expr, names: dict[str, str]) -> object:
    """The object a ``show_source`` argument (a name or attribute chain) refers to."""
    chain = []
    while isinstance(expr, ast.Attribute):
        chain.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name) or expr.id not in names:
        raise LookupError(f"{ast.unparse(expr)} is not imported in the notebook: show_source "
                          "displays only code importable from tutorial_utils")
    target = names[expr.id]
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    if attr:
        obj = getattr(obj, attr) if hasattr(obj, attr) else importlib.import_module(f"{module}.{attr}")
    for name in reversed(chain):
        obj = getattr(obj, name)
    return obj


def show_source_markdown(obj: object) -> str:
    """What ``tutorial_utils.notebook_cells.show_source(obj)`` displays (text/markdown)."""
    return f"```python\n{inspect.getsource(obj)}```"


def stale_source_displays(nb: nbformat.NotebookNode) -> list[str]:
    """One line per stored ``show_source`` display that differs from the current source."""
    names = _imported_names(nb)
    problems = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "show_source(" not in cell.source:
            continue
        calls = [node for node in ast.walk(ast.parse(cell.source))
                 if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "show_source"]
        calls.sort(key=lambda node: (node.lineno, node.col_offset))
        shown = [out["data"]["text/markdown"] for out in cell.get("outputs", [])
                 if out.get("output_type") == "display_data" and "text/markdown" in out.get("data", {})]
        if not cell.get("outputs") and cell.get("execution_count") is None:
            continue  # never executed (a notebook not stored yet): nothing shown, nothing stale
        if len(shown) != len(calls):
            problems.append(f"code cell {k}: {len(calls)} show_source calls but {len(shown)} displays stored")
            continue
        for call, stored in zip(calls, shown):
            label = ast.unparse(call.args[0])
            try:
                current = show_source_markdown(_resolve(call.args[0], names))
            except (LookupError, AttributeError, ImportError) as exc:
                problems.append(f"code cell {k}: cannot find {label}: {exc}")
                continue
            stored = stored if isinstance(stored, str) else "".join(stored)
            if stored != current:
                problems.append(f"code cell {k}: the stored display of {label} is not its current "
                                "source; re-store the notebook (make store-outputs)")
    return problems
