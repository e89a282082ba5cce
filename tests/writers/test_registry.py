"""The registry of output formats: each format writes exactly the files it names."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.writers.conftest import make_mask, make_reflectance
from tsmask_qgis import writers
from tsmask_qgis.errors import ParameterError
from tsmask_qgis.evaluate import compare
from tsmask_qgis.writers import FORMATS, OutputFile, WriteContext

LABELS = ["2021-01-03", "2021-01-13", "2021-01-23", "2021-02-02"]


def _on_disk(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def _products(mask, ds) -> dict:
    """What the product formats write, made by the products package from the test data."""
    from tsmask_qgis import products

    series = products.index_series(ds, mask, "ndvi")
    return {
        "composite": products.composite(ds, mask, period="month", method="mean", workers=1),
        "masked": products.masked(ds, mask),
        "series": series,
        "index": "ndvi",
        "zonal": [products.ZoneRow("field", LABELS[0], 0.5, 0.25, 1, 4)],
    }


def _labels(fmt: writers.Format, products: dict) -> list[str]:
    if fmt.per == "period":
        return [str(p) for p in products["composite"]["period"].values]
    return LABELS[1:3] if fmt.picked_dates else LABELS


def _context(out: Path, fmt: writers.Format, **kw) -> WriteContext:
    mask = make_mask()
    ds = make_reflectance(mask)
    found = _products(mask, ds) if fmt.name in writers.PRODUCT_FORMATS else {}
    dates = _labels(fmt, found)
    return WriteContext(
        out=out,
        files=tuple(fmt.files(dates, out=out, among=("cog", "multiband", "envi"))),
        mask=mask,
        summary=tuple(writers.summarise(mask)),
        reflectance=ds,
        evaluation=lambda: compare(mask, mask, mask_name="m", reference_name="itself"),
        products=found,
        **kw,
    )


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_format_writes_exactly_its_files(tmp_path, name):
    fmt = FORMATS[name]
    ctx = _context(tmp_path, fmt)
    assert ctx.files and all(f.format == name for f in ctx.files)
    fmt.write(ctx)
    assert _on_disk(tmp_path) == set(ctx.paths)
    for f in ctx.files:
        if f.date is None:
            assert "{date}" not in f.path.name
        else:
            assert f.date in f.path.name and f.date in _labels(fmt, ctx.products)
    with pytest.raises(writers.OutputExistsError):  # the registry's writers keep the rule
        fmt.write(ctx)
    fmt.write(dataclasses.replace(ctx, overwrite=True))


def test_file_names_for_a_job(tmp_path):
    rel = {
        name: [f.path.as_posix() for f in fmt.files(["2020-01-01"], among=("cog", "envi"))]
        for name, fmt in FORMATS.items()
    }
    assert rel["netcdf"] == ["tsmask.nc"]
    assert rel["cog"] == ["cog/tsmask_2020-01-01.tif"]
    assert rel["envi"] == ["tsmask_envi.img", "tsmask_envi.hdr"]
    # a style beside each class raster of the job (not the ENVI header), and one for the NetCDF
    assert rel["qml"] == ["cog/tsmask_2020-01-01.qml", "tsmask_envi.qml", "tsmask.qml"]
    assert rel["quicklook"] == ["quicklooks/quicklook_2020-01-01.png"]
    assert rel["truecolour"] == ["truecolour/truecolour_2020-01-01.tif"]
    assert rel["evaluation"][0] == "evaluation.md"
    assert FORMATS["cog"].files([], out=tmp_path) == []
    assert [f.date for f in FORMATS["qml"].files(["2020-01-01"], among=("cog",))] == [
        "2020-01-01",
        None,
    ]
    assert FORMATS["cog"].pattern == "cog/tsmask_*.tif" and FORMATS["netcdf"].pattern is None
    assert FORMATS["cog"].description.startswith("cog/tsmask_<date>.tif: ")
    assert {n for n, f in FORMATS.items() if not f.selectable} == {
        "truecolour",
        "evaluation",
        *writers.PRODUCT_FORMATS,
    }
    assert rel["composite"] == ["composite/composite_2020-01-01.tif"]
    assert FORMATS["composite"].per == "period" and FORMATS["cog"].per == "date"


def test_by_file_formats_skip_complete_files_and_report_each(tmp_path):
    fmt = FORMATS["cog"]
    ctx = _context(tmp_path, fmt)
    first = ctx.paths[0]
    first.parent.mkdir()
    first.write_bytes(b"complete from an earlier run")
    seen: list[Path] = []
    fmt.write(dataclasses.replace(ctx, skip=frozenset([first]), on_written=seen.append))
    assert seen == ctx.paths[1:] and first.read_bytes() == b"complete from an earlier run"
    reports = []
    qml = FORMATS["qml"]
    qctx = _context(tmp_path / "q", qml)
    qml.write(dataclasses.replace(qctx, progress=reports.append, on_written=seen.append))
    assert seen[-len(qctx.files) :] == qctx.paths
    assert {r.step for r in reports} == {"write"}


def test_output_file_plain_and_unknown_format():
    f = OutputFile("cog", Path("/o/cog/tsmask_2020-01-01.tif"), "2020-01-01")
    assert f.to_plain() == {"format": "cog", "path": f.path, "date": "2020-01-01"}
    assert OutputFile.from_plain(f.to_plain()) == f
    assert writers.get_format("netcdf") is FORMATS["netcdf"]
    with pytest.raises(ParameterError, match="unknown output format gif") as err:
        writers.get_format("gif")
    assert err.value.field == "formats"
