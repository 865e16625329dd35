"""Tables as a reader sees them: human headers with units, one format per metric, no constant
columns (said once above the table instead), cells that wrap instead of scrolling."""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from bnnrepro.families.reporting import Col, Table


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _sig(value: float, digits: int = 3) -> str:
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


def format_value(value: Any, fmt: str) -> str:
    """The text of one cell in format ``fmt`` (see :data:`bnnrepro.families.reporting.FORMATS`)."""
    if fmt.startswith("interval_"):
        if not isinstance(value, (tuple, list)) or len(value) != 2 or any(_missing(v) for v in value):
            return ""
        inner = fmt.split("_", 1)[1]
        if inner == "pct":
            return f"[{100 * value[0]:.1f}, {100 * value[1]:.1f}]%"
        return f"[{_sig(float(value[0]))}, {_sig(float(value[1]))}]"
    if _missing(value):
        return ""
    if fmt == "text" or isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    value = float(value)
    if fmt == "pct":
        return f"{100 * value:.1f}%"
    if fmt == "pct2":
        return f"{100 * value:.2f}%"
    if fmt == "pp":
        return f"{100 * value:+.1f} pp"
    if fmt == "int":
        return f"{value:,.0f}"
    if fmt == "ratio":
        return f"{value:.2f}x"
    if fmt == "ms":
        return _sig(value) + " ms"
    if fmt == "bytes":
        return f"{value / 1e6:.2f} MB" if value >= 1e6 else f"{value / 1e3:.1f} kB"
    return _sig(value)


def _constant(frame: pd.DataFrame, keep: tuple[str, ...]) -> list[str]:
    if len(frame) < 2:
        return []
    out = []
    for col in frame.columns:
        if col in keep:
            continue
        values = frame[col].map(lambda v: repr(v) if not _missing(v) else "")
        if values.nunique() == 1:
            out.append(col)
    return out


def render(table: Table, results_link: str | None = None) -> str:
    """The table as HTML: constant columns dropped and stated once, headers, formats, a link to its
    CSV (``results_link``: the CSV's path relative to the report, if it has one)."""
    frame = table.frame.reset_index(drop=True)
    constant = _constant(frame, table.keep_constant)
    shown = [c for c in frame.columns if c not in constant]
    parts = []
    if constant:
        facts = ", ".join(f"{html.escape(table.column(c).header)}: "
                          f"{html.escape(format_value(frame[c].iloc[0], table.column(c).fmt)) or 'none'}"
                          for c in constant)
        parts.append(f'<p class="constant">In every row: {facts}.</p>')
    head = "".join(f'<th class="{_align(table.column(c), frame[c])}">{html.escape(table.column(c).header)}</th>'
                   for c in shown)
    body = []
    for _, row in frame.iterrows():
        cells = "".join(f'<td class="{_align(table.column(c), frame[c])}">'
                        f"{html.escape(format_value(row[c], table.column(c).fmt))}</td>" for c in shown)
        body.append(f"<tr>{cells}</tr>")
    parts.append(f'<div class="table-wrap"><table class="data"><thead><tr>{head}</tr></thead>'
                 f'<tbody>{"".join(body)}</tbody></table></div>')
    notes = []
    if table.note:
        notes.append(html.escape(table.note))
    if results_link:
        notes.append(f'<a href="{html.escape(results_link)}">data (CSV)</a>')
    if notes:
        parts.append(f'<p class="note">{" ".join(notes)}</p>')
    if table.footnotes:
        parts.append('<ol class="footnotes">' + "".join(
            f"<li>{html.escape(note.split('] ', 1)[-1])}</li>" for note in table.footnotes) + "</ol>")
    return "\n".join(parts)


def _align(col: Col, series: pd.Series) -> str:
    numeric = col.fmt != "text" or pd.api.types.is_numeric_dtype(series)
    return "num" if numeric and col.fmt != "text" else "txt"
