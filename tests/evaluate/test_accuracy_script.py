"""scripts/accuracy.py (``make accuracy``) in its quick mode: the page and figures it writes."""

from __future__ import annotations

import re

import pytest

from tests.evaluate.scripts import load_script


@pytest.mark.slow
def test_accuracy_page_quick(tmp_path):
    mod = load_script("accuracy")
    doc, img = tmp_path / "accuracy.md", tmp_path / "img"
    assert mod.main(["--quick", "--quiet", "--doc", str(doc), "--img", str(img)]) == 0
    text = doc.read_text()
    for heading in (
        "## What each reference can and cannot show",
        "### By cloud amount",
        "### By series length",
        "## The real sample: Wright, ACT",
        "CC BY 4.0",
        "## Options: seed's thin-cloud rule, shadow from sun geometry, buffers in metres",
        "### Sensitivity: each new constant halved and doubled",
        "### Recommended configuration",
    ):
        assert heading in text
    # every preset and option with real figures, and the clear-date share of the default
    for name in ("seed", "seed, thin_cloud=temporal", "seed, thin_cloud=off", "dea"):
        assert re.search(rf"^\| {re.escape(name)} \| \+ geometry \| \d+\.\d \|", text, re.M)
    assert re.search(r"default configuration \(dea, no options\) flags \d+\.\d %", text)
    # Every figure the page links exists and is a PNG.
    links = re.findall(r"\]\((img/[^)]+\.png)\)", text)
    assert len(links) == 7
    for link in links:
        assert (tmp_path / link).read_bytes()[:4] == b"\x89PNG"
    # The headline table has figures for both presets, not placeholders.
    rows = [r for r in text.splitlines() if re.match(r"\| \d+ dates \| (seed|dea) \|", r)]
    assert len(rows) == 2
    for r in rows:
        oa = float(r.split("|")[3].split("±")[0])
        assert 50.0 < oa <= 100.0
    # The real sample's table has one row per date.
    assert len(re.findall(r"^\| \d+ \| 20\d\d-\d\d-\d\d \|", text, flags=re.M)) == 30
