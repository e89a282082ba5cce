"""Reports of an :class:`~tsmask_qgis.evaluate.metrics.Evaluation`: Markdown, JSON, HTML, PNG.

The HTML report is self-contained (inline CSS, the confusion matrix as an
inline PNG), so a QGIS Processing algorithm can hand it over as one file.
Figures are drawn with matplotlib's object API on an Agg canvas: no pyplot
state, no GUI backend, safe in worker threads and inside QGIS.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tsmask_qgis.classes import CLASSES
from tsmask_qgis.tempfiles import temp_name

if TYPE_CHECKING:
    from tsmask_qgis.evaluate.metrics import Evaluation

__all__ = ["confusion_png", "to_html", "to_json", "to_markdown", "write_report"]

_LABELS = [c.label for c in CLASSES[1:]]


def _pct(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{100.0 * v:.{digits}f} %"


def _num(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _summary_rows(ev: Evaluation) -> list[tuple[str, str]]:
    ex = ev.excluded
    cs = ev.cloud_or_shadow
    return [
        ("Mask", ev.mask_name),
        ("Reference", f"{ev.reference_name} ({ev.reference_kind})"),
        ("Dates compared", f"{len(ev.dates)}"),
        ("Pixel-dates compared", f"{ev.pixels:,}"),
        (
            "Left out (no observation)",
            f"{ex['mask_only']:,} in the mask only, {ex['reference_only']:,} in the "
            f"reference only, {ex['both']:,} in both",
        ),
        ("Overall accuracy", _pct(ev.overall_accuracy)),
        ("Cohen's kappa", _num(ev.kappa)),
        ("Cloud or shadow vs clear: F1", _num(cs["f1"])),
        (
            "Cloud or shadow vs clear: precision / recall",
            f"{_num(cs['precision'])} / {_num(cs['recall'])}",
        ),
    ]


def _matrix_rows(ev: Evaluation) -> tuple[list[str], list[list[str]]]:
    c = ev.confusion
    head = ["mask ↓ / reference →", *_LABELS, "total", "user's accuracy"]
    ua = list(ev.users_accuracy.values())
    pa = list(ev.producers_accuracy.values())
    rows = []
    for i, label in enumerate(_LABELS):
        rows.append([label, *(f"{int(v):,}" for v in c[i]), f"{int(c[i].sum()):,}", _pct(ua[i])])
    rows.append(["total", *(f"{int(v):,}" for v in c.sum(axis=0)), f"{int(c.sum()):,}", ""])
    rows.append(["producer's accuracy", *(_pct(v) for v in pa), "", _pct(ev.overall_accuracy)])
    return head, rows


def _date_rows(ev: Evaluation) -> tuple[list[str], list[list[str]]]:
    head = [
        "date",
        "pixels",
        "cloud: mask",
        "cloud: reference",
        "shadow: mask",
        "shadow: reference",
        "overall accuracy",
        "F1 cloud/shadow",
    ]
    rows = []
    for d in ev.per_date:
        rows.append(
            [
                d.date,
                f"{d.pixels:,}",
                _pct(d.fraction(2, "mask")),
                _pct(d.fraction(2, "reference")),
                _pct(d.fraction(3, "mask")),
                _pct(d.fraction(3, "reference")),
                _pct(d.overall_accuracy),
                _num(d.f1),
            ]
        )
    return head, rows


def _md_table(head: list[str], rows: list[list[str]], align: str = "r") -> str:
    sep = ["---"] + [("---:" if align == "r" else "---")] * (len(head) - 1)
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def to_markdown(ev: Evaluation, *, per_date: bool = True, title: str | None = None) -> str:
    """The report as Markdown."""
    out = [f"# {title or 'Mask evaluation'}", ""]
    out.append(_md_table(["", ""], [list(r) for r in _summary_rows(ev)], align="l"))
    out += ["", "## Confusion matrix (pixel-dates)", ""]
    out.append(
        "Rows: the mask; columns: the reference. Producer's accuracy = 1 − omission "
        "error; user's accuracy = 1 − commission error. Pixel-dates where either side "
        "has no observation are left out."
    )
    out += ["", _md_table(*_matrix_rows(ev))]
    if ev.unmatched_mask_dates or ev.unmatched_reference_dates:
        out += [
            "",
            f"Dates only in the mask (left out): {', '.join(ev.unmatched_mask_dates) or 'none'}.",
            "Dates only in the reference (left out): "
            f"{', '.join(ev.unmatched_reference_dates) or 'none'}.",
        ]
    if per_date:
        out += ["", "## Per date", "", "Shares of the pixels both sides observed.", ""]
        out.append(_md_table(*_date_rows(ev)))
    return "\n".join(out) + "\n"


def to_json(ev: Evaluation, *, indent: int | None = 2) -> str:
    """The report as JSON (``Evaluation.to_dict()``)."""
    return json.dumps(ev.to_dict(), indent=indent, allow_nan=False)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
table.summary td{text-align:left}p.note{color:#555;font-size:.9em;max-width:48em}
img{max-width:100%}
"""


def _html_table(
    head: list[str] | None, rows: list[list[str]] | list[tuple[str, str]], cls: str = ""
) -> str:
    parts = [f'<table class="{cls}">' if cls else "<table>"]
    if head:
        parts.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>")
    for r in rows:
        parts.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>")
    parts.append("</table>")
    return "\n".join(parts)


def to_html(
    ev: Evaluation, *, figure: bool = True, per_date: bool = True, title: str | None = None
) -> str:
    """The report as one self-contained HTML page."""
    t = html.escape(title or "Mask evaluation")
    body = [f"<h1>{t}</h1>", _html_table(None, _summary_rows(ev), "summary")]
    body.append("<h2>Confusion matrix (pixel-dates)</h2>")
    body.append(
        '<p class="note">Rows: the mask; columns: the reference. Producer\'s accuracy = '
        "1 − omission error; user's accuracy = 1 − commission error. Pixel-dates where "
        "either side has no observation are left out.</p>"
    )
    body.append(_html_table(*_matrix_rows(ev)))
    if figure:
        buf = io.BytesIO()
        _draw_confusion(ev, buf, dpi=100)
        b64 = base64.b64encode(buf.getvalue()).decode("ascii")
        body.append(f'<p><img alt="confusion matrix" src="data:image/png;base64,{b64}"></p>')
    if ev.unmatched_mask_dates or ev.unmatched_reference_dates:
        body.append(
            '<p class="note">Dates only in the mask (left out): '
            f"{html.escape(', '.join(ev.unmatched_mask_dates) or 'none')}. "
            "Dates only in the reference (left out): "
            f"{html.escape(', '.join(ev.unmatched_reference_dates) or 'none')}.</p>"
        )
    if per_date:
        body.append("<h2>Per date</h2>")
        body.append('<p class="note">Shares of the pixels both sides observed.</p>')
        body.append(_html_table(*_date_rows(ev)))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{t}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _draw_confusion(ev: Evaluation, target: Any, *, dpi: int) -> None:
    with warnings.catch_warnings():
        # Debian's matplotlib beside the venv's warns about its 3-D toolkit; not used here.
        warnings.filterwarnings("ignore", message="Unable to import Axes3D")
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

    c = ev.confusion.astype(np.float64)
    col = c.sum(axis=0, keepdims=True)
    share = np.divide(c, col, out=np.zeros_like(c), where=col > 0)
    fig = Figure(figsize=(5.2, 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    im = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(3):
        for j in range(3):
            ax.text(
                j,
                i,
                f"{int(c[i, j]):,}\n{100 * share[i, j]:.1f} %",
                ha="center",
                va="center",
                fontsize=9,
                color="white" if share[i, j] > 0.6 else "black",
            )
    ax.set_xticks(range(3), _LABELS)
    ax.set_yticks(range(3), _LABELS)
    ax.set_xlabel(f"reference: {ev.reference_name} ({ev.reference_kind})")
    ax.set_ylabel(f"mask: {ev.mask_name}")
    oa = ev.overall_accuracy
    ax.set_title(f"overall accuracy {_pct(oa)}, F1 cloud/shadow {_num(ev.f1)}", fontsize=10)
    fig.colorbar(im, ax=ax, label="share of the reference class (column)", shrink=0.8)
    fig.savefig(target, format="png", dpi=dpi)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` under the project's temporary name beside ``path``, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def confusion_png(ev: Evaluation, path: str | os.PathLike[str], *, dpi: int = 110) -> Path:
    """Draw the confusion matrix (counts and shares of each reference class) to a PNG."""
    buf = io.BytesIO()
    _draw_confusion(ev, buf, dpi=dpi)
    p = Path(path)
    _atomic_write(p, buf.getvalue())
    return p


def write_report(
    ev: Evaluation,
    folder: str | os.PathLike[str],
    *,
    stem: str = "evaluation",
    formats: tuple[str, ...] = ("md", "json", "html", "png"),
    title: str | None = None,
) -> dict[str, Path]:
    """Write the report files ``{stem}.md/.json/.html`` and ``{stem}_confusion.png``.

    Each file is written atomically. Returns ``{format: path}``.
    """
    unknown = set(formats) - {"md", "json", "html", "png"}
    if unknown:
        raise ValueError(f"unknown report formats {sorted(unknown)}: use md, json, html, png")
    out = Path(folder)
    written: dict[str, Path] = {}
    if "md" in formats:
        written["md"] = out / f"{stem}.md"
        _atomic_write(written["md"], to_markdown(ev, title=title).encode("utf-8"))
    if "json" in formats:
        written["json"] = out / f"{stem}.json"
        _atomic_write(written["json"], to_json(ev).encode("utf-8"))
    if "html" in formats:
        written["html"] = out / f"{stem}.html"
        _atomic_write(written["html"], to_html(ev, title=title).encode("utf-8"))
    if "png" in formats:
        written["png"] = confusion_png(ev, out / f"{stem}_confusion.png")
    return written
