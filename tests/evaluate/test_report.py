"""Report outputs: Markdown, JSON, self-contained HTML and the confusion-matrix PNG."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tsmask_qgis.evaluate import compare, write_report

from .test_metrics import MASK, REF


@pytest.fixture
def ev():
    mask = np.stack([MASK, np.ones_like(MASK)])
    ref = np.stack([REF, np.ones_like(REF)])
    return compare(mask, ref, mask_name="my mask", reference_name="truth")


def test_markdown(ev):
    md = ev.to_markdown()
    assert md.startswith("# Mask evaluation")
    assert "| Overall accuracy | 81.8 % |" in md  # (6 + 12) / (10 + 12) pixel-dates
    assert "| Clear | 15 | 1 | 1 | 17 | 88.2 % |" in md
    assert "| producer's accuracy | 88.2 % | 66.7 % | 50.0 % |  | 81.8 % |" in md
    assert "| #0 | 10 | 30.0 % | 30.0 % | 20.0 % | 20.0 % | 60.0 % | 0.600 |" in md
    assert "| #1 | 12 | 0.0 % | 0.0 % | 0.0 % | 0.0 % | 100.0 % | – |" in md
    assert "my mask" in md and "truth (tsmask)" in md
    assert "## Per date" not in ev.to_markdown(per_date=False)


def test_json_round_trip(ev):
    d = json.loads(ev.to_json())
    assert d["confusion"] == [[15, 1, 1], [1, 2, 0], [1, 0, 1]]
    assert d["overall_accuracy"] == pytest.approx(18 / 22)
    assert d["producers_accuracy"]["cloud"] == pytest.approx(2 / 3)
    assert d["per_date"][1]["f1_cloud_or_shadow"] is None
    assert d["excluded_no_observation"] == {"mask_only": 1, "reference_only": 1, "both": 0}
    assert d["reference_kind"] == "tsmask" and d["dates"] == 2


def test_html_is_self_contained(ev):
    page = ev.to_html()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "data:image/png;base64," in page
    # Nothing to fetch: no external scripts, styles or images.
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "my mask" in page and "81.8 %" in page
    assert "<img" not in ev.to_html(figure=False)


def test_html_escapes_names():
    ev = compare(MASK, REF, mask_name="<b>x</b>")
    assert "<b>x</b>" not in ev.to_html(figure=False)
    assert "&lt;b&gt;x&lt;/b&gt;" in ev.to_html(figure=False)


def test_confusion_png(ev, tmp_path):
    import matplotlib.image as mpimg

    p = ev.confusion_png(tmp_path / "sub" / "c.png")
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(p)
    assert img.shape[0] > 200 and img.shape[1] > 200
    assert img[..., :3].std() > 0.05  # something is drawn


def test_write_report(ev, tmp_path):
    paths = write_report(ev, tmp_path, stem="r")
    assert {k: p.name for k, p in paths.items()} == {
        "md": "r.md",
        "json": "r.json",
        "html": "r.html",
        "png": "r_confusion.png",
    }
    assert json.loads(paths["json"].read_text())["pixels"] == 22
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths.values())
    with pytest.raises(ValueError, match="unknown report formats"):
        write_report(ev, tmp_path, formats=("pdf",))
