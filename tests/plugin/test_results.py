"""The run's result as plain values (HOUSE.md's contract) becomes the layers: no file name is parsed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from qgis.core import QgsProject

from tests.plugin.conftest import write_mask
from tsmask_qgis.plugin.jobs import files_of, result_layers
from tsmask_qgis.plugin.layers import add_result_layers


def _plain(tmp_path: Path) -> dict:
    """A result's plain form, by hand: two acquisitions on one day, names that say nothing."""
    dates = ["2021-12-04T000102", "2021-12-04T235958", "2022-01-30"]
    times = ["2021-12-04T00:01:02", "2021-12-04T23:59:58", "2022-01-30T00:05:00"]
    files = []
    for i, d in enumerate(dates):
        files.append({"format": "cog", "path": tmp_path / f"m{i}.tif", "date": d})
        files.append({"format": "qml", "path": tmp_path / f"m{i}.qml", "date": None})
        files.append({"format": "truecolour", "path": tmp_path / f"t{i}.tif", "date": d})
    files += [
        {"format": "count", "path": tmp_path / "n.tif", "date": None},
        {"format": "summary", "path": tmp_path / "s.csv", "date": None},
        {"format": "summary", "path": tmp_path / "s.json", "date": None},
        {"format": "netcdf", "path": tmp_path / "c.nc", "date": None},
    ]
    summary = [
        {"date": d, "pixels": 30, "no_observation": 0, "clear": 30, "cloud": 0, "shadow": 0}
        for d in dates
    ]
    return {
        "out": tmp_path,
        "dates": dates,
        "times": times,
        "summary": summary,
        "files": files,
        "reused": [],
        "notes": [],
    }


def test_result_layers_read_the_plain_form(tmp_path):
    plain = _plain(tmp_path)
    layers = result_layers(plain)
    assert layers.masks == {f["date"]: f["path"] for f in plain["files"] if f["format"] == "cog"}
    assert list(layers.truecolour.values()) == [tmp_path / f"t{i}.tif" for i in range(3)]
    assert layers.count == tmp_path / "n.tif"
    assert layers.times["2021-12-04T235958"] == dt.datetime(2021, 12, 4, 23, 59, 58)
    assert layers.summary == tuple(plain["summary"])
    assert layers.out == tmp_path
    assert layers.summary_csv == tmp_path / "s.csv"
    assert files_of(plain, "summary") == [(None, tmp_path / "s.csv"), (None, tmp_path / "s.json")]
    no_count = {**plain, "files": [f for f in plain["files"] if f["format"] != "count"]}
    assert result_layers(no_count).count is None


def test_plain_result_on_the_map(qgis_app, qgis_new_project, tmp_path):
    plain = _plain(tmp_path)
    for f in plain["files"]:
        if f["format"] in ("cog", "count"):
            write_mask(f["path"], np.ones((1, 6, 5), np.uint8))
        elif f["format"] == "truecolour":
            write_mask(f["path"], np.zeros((3, 6, 5), np.uint8))
    plain["files"].reverse()  # the order of the files does not matter: the times do
    group = add_result_layers(result_layers(plain), group_name="plain")
    assert QgsProject.instance().layerTreeRoot().children()[0] is group
    names = [n.name() for n in group.children()]
    masks = [f"{d} · 0 % cloud" for d in plain["dates"]]
    assert names == [*masks, "true colour", "clear observations"]
    days = [
        n.layer().temporalProperties().fixedTemporalRange().begin().date().toPyDate()
        for n in group.findLayers()[:3]
    ]
    assert days == [dt.date(2021, 12, 4), dt.date(2021, 12, 4), dt.date(2022, 1, 30)]
