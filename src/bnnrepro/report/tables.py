"""Tables as a reader sees them: human headers with units, one format per metric, no constant
columns (said once above the table instead), cells that wrap; a table wider than the page scrolls in
its own box with its first column kept in view.

A paper-vs-ours frame (:func:`bnnrepro.families.sources.paper_vs_ours`: one row per condition and
metric) is shown pivoted: one row per condition and paper dataset and, for each metric, the columns
Paper | This run | Difference, the source of each published number as a footnote mark.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from bnnrepro.families.reporting import Col, Table

#: The columns :func:`bnnrepro.families.sources.paper_vs_ours` writes after the condition columns.
PAPER_VS_OURS = ("metric", "paper", "approx", "ours", "difference", "paper_dataset", "our_dataset", "note")


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _sig(value: float, digits: int = 3) -> str:
    """``digits`` significant digits, thousands separated; infinities as ∞."""
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


def format_value(value: Any, fmt: str) -> str:
    """The text of one cell in format ``fmt`` (see :data:`bnnrepro.families.reporting.FORMATS`).

    An interval is a (low, high) pair; an infinite end shows as ∞ and an interval infinite at both
    ends (Fieller's unbounded set) as "unbounded"."""
    if fmt.startswith("interval_"):
        if not isinstance(value, (tuple, list)) or len(value) != 2 or any(_missing(v) for v in value):
            return ""
        low, high = float(value[0]), float(value[1])
        if math.isinf(low) and math.isinf(high):
            return "unbounded"
        if fmt == "interval_pct":
            ends = [_sig(v) if math.isinf(v) else f"{100 * v:.1f}" for v in (low, high)]
            return f"[{ends[0]}, {ends[1]}]%"
        return f"[{_sig(low)}, {_sig(high)}]"
    if _missing(value):
        return ""
    if fmt == "text" or isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    value = float(value)
    if math.isinf(value):
        return _sig(value)
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


def constant_columns(frame: pd.DataFrame, keep: tuple[str, ...] = ()) -> list[str]:
    """Columns with one value in every row (of a table with at least two rows), except ``keep``."""
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


def _said_once(table: Table, frame: pd.DataFrame, columns: list[str]) -> str:
    """The "In every row: ..." line for the constant columns that have a value (empty ones are just dropped)."""
    said = [c for c in columns if format_value(frame[c].iloc[0], table.column(c).fmt)]
    if not said:
        return ""
    facts = ", ".join(
        f"{html.escape(table.column(c).header)}: {html.escape(format_value(frame[c].iloc[0], table.column(c).fmt))}"
        for c in said
    )
    return f'<p class="constant">In every row: {facts}.</p>'


def _notes(table: Table, results_link: str | None, inline_paths: bool = False) -> list[str]:
    parts, notes = [], []
    if table.note:
        notes.append(html.escape(table.note))
    if results_link:
        notes.append(
            f"data: <code>{html.escape(table.csv or results_link)}</code> under the results"
            if inline_paths
            else f'<a href="{html.escape(results_link)}">data (CSV)</a>'
        )
    if notes:
        parts.append(f'<p class="note">{" ".join(notes)}</p>')
    if table.footnotes:
        parts.append(
            '<ol class="footnotes">'
            + "".join(f"<li>{html.escape(note.split('] ', 1)[-1])}</li>" for note in table.footnotes)
            + "</ol>"
        )
    return parts


def is_paper_vs_ours(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` is exactly a paper_vs_ours frame: condition columns, then its columns."""
    columns = list(frame.columns)
    return len(columns) >= len(PAPER_VS_OURS) and tuple(columns[-len(PAPER_VS_OURS) :]) == PAPER_VS_OURS


def render(table: Table, results_link: str | None = None, inline_paths: bool = False) -> str:
    """The table as HTML: constant columns dropped and stated once, headers, formats, a link to its
    CSV (``results_link``: the CSV's path relative to the report, if it has one; ``inline_paths``:
    name the CSV instead of linking it, for a report mailed as one file)."""
    if is_paper_vs_ours(table.frame) and len(table.frame):
        return render_paper_vs_ours(table, results_link, inline_paths)
    frame = table.frame.reset_index(drop=True)
    constant = constant_columns(frame, table.keep_constant)
    shown = [c for c in frame.columns if c not in constant]
    parts = [p for p in [_said_once(table, frame, constant)] if p]
    head = "".join(
        f'<th class="{_cell_class(table.column(c), i)}">{html.escape(table.column(c).header)}</th>'
        for i, c in enumerate(shown)
    )
    body = []
    for _, row in frame.iterrows():
        cells = "".join(_td(table.column(c), i, row[c]) for i, c in enumerate(shown))
        body.append(f"<tr>{cells}</tr>")
    parts.append(
        f'<div class="table-wrap"><table class="data"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
    return "\n".join(parts + _notes(table, results_link, inline_paths))


def render_paper_vs_ours(table: Table, results_link: str | None = None, inline_paths: bool = False) -> str:
    """A paper_vs_ours frame pivoted: one row per condition and paper dataset; per metric, Paper
    (with "~" when the paper's number is read off a figure, and its source's footnote mark) | This
    run | Difference (dropped for a metric where no dataset matches)."""
    frame = table.frame.reset_index(drop=True)
    conditions = list(frame.columns[: -len(PAPER_VS_OURS)])
    keys = conditions + ["paper_dataset"]
    metrics = list(dict.fromkeys(frame["metric"]))
    rows = list(dict.fromkeys(tuple(_key(v) for v in r) for r in frame[keys].itertuples(index=False)))
    cell = {(tuple(_key(v) for v in r[keys]), r["metric"]): r for _, r in frame.iterrows()}
    with_difference = {m: frame.loc[frame["metric"] == m, "difference"].notna().any() for m in metrics}

    said = constant_columns(frame[conditions + ["our_dataset"]]) if len(rows) > 1 else []
    said = [c for c in said if c != "paper_dataset"]
    if frame["our_dataset"].nunique() == 1 and "our_dataset" not in said:
        said.append("our_dataset")
    shown = [c for c in conditions if c not in said]
    labels = {"paper_dataset": "Paper's dataset", "our_dataset": "Our dataset"}
    header = Table(table.title, frame, {**{k: Col(v) for k, v in labels.items()}, **dict(table.columns)})
    parts = [p for p in [_said_once(header, frame, said)] if p]

    paper_col, ours_col, diff_col = table.column("paper"), table.column("ours"), table.column("difference")
    top = (
        "".join(
            f'<th rowspan="2" class="{_cell_class(table.column(c), i)}">{html.escape(table.column(c).header)}</th>'
            for i, c in enumerate(shown)
        )
        + f'<th rowspan="2" class="{"txt" if shown else "txt stick"}">{labels["paper_dataset"]}</th>'
    )
    sub = ""
    for metric in metrics:
        span = 3 if with_difference[metric] else 2
        label = str(metric)
        label = label[0].upper() + label[1:] if label[:1].isascii() and label[:1].islower() else label
        top += f'<th colspan="{span}" class="group">{html.escape(label)}</th>'
        sub += (
            f'<th class="num">{html.escape(paper_col.header)}</th><th class="num">{html.escape(ours_col.header)}</th>'
            + (f'<th class="num">{html.escape(diff_col.header)}</th>' if with_difference[metric] else "")
        )
    body = []
    for key in rows:
        values = dict(zip(keys, key))
        first = next(cell[(key, m)] for m in metrics if (key, m) in cell)
        cells = "".join(_td(table.column(c), i, first[c]) for i, c in enumerate(shown))
        cells += f'<td class="{"txt" if shown else "txt stick"}">{html.escape(str(values["paper_dataset"]))}</td>'
        for metric in metrics:
            r = cell.get((key, metric))
            if r is None:
                cells += '<td class="num"></td>' * (3 if with_difference[metric] else 2)
                continue
            mark = str(r["note"]).strip("[]")
            paper = (r["approx"] or "") + format_value(r["paper"], paper_col.fmt)
            cells += (
                f'<td class="num">{html.escape(paper)}<sup>{html.escape(mark)}</sup></td>'
                f'<td class="num">{html.escape(format_value(r["ours"], ours_col.fmt))}</td>'
            )
            if with_difference[metric]:
                cells += f'<td class="num">{html.escape(format_value(r["difference"], diff_col.fmt))}</td>'
        body.append(f"<tr>{cells}</tr>")
    parts.append(
        f'<div class="table-wrap"><table class="data pvo"><thead><tr>{top}</tr><tr>{sub}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
    approx = " ~: read off a figure, approximate." if (frame["approx"] == "~").any() else ""
    note = (table.note + " " if table.note else "") + f"Superscripts: the sources below.{approx}"
    return "\n".join(
        parts
        + _notes(Table(table.title, frame, table.columns, note, table.csv, table.footnotes), results_link, inline_paths)
    )


def _key(value: Any) -> Any:
    return "" if _missing(value) else value


def _align(col: Col) -> str:
    return "txt" if col.fmt == "text" else "num"


def _cell_class(col: Col, position: int) -> str:
    """A cell's alignment; the first column's cells stay in view while a wide table scrolls ("stick")."""
    return _align(col) + (" stick" if position == 0 else "")


def _td(col: Col, position: int, value: Any) -> str:
    return f'<td class="{_cell_class(col, position)}">{html.escape(format_value(value, col.fmt))}</td>'
