"""scripts/accuracy.py (``make accuracy``) in its quick mode: the page and figures it writes."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_accuracy_page_quick(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "accuracy_script", ROOT / "scripts" / "accuracy.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.modules.pop(spec.name, None)
    doc, img = tmp_path / "accuracy.md", tmp_path / "img"
    assert mod.main(["--quick", "--quiet", "--doc", str(doc), "--img", str(img)]) == 0
    text = doc.read_text()
    for heading in (
        "## What each reference can and cannot show",
        "### By cloud amount",
        "### By series length",
        "## The real sample: Wright, ACT",
        "CC BY 4.0",
    ):
        assert heading in text
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
