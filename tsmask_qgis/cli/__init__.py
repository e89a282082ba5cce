"""The ``tsmask`` command: cloud and cloud-shadow masks for Sentinel-2 time series.

The parser is built from the subcommand modules listed in :data:`SUBCOMMANDS`;
each defines ``register(subparsers)`` and sets ``func(args) -> int`` on its
parser. Errors print one line (no traceback unless ``--debug``) and map to the
exit codes in :data:`EXIT_CODES`, which scripts can rely on.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Iterator, Sequence

from tsmask_qgis import __version__, errors

__all__ = [
    "EXIT_CODES",
    "FIELD_HINTS",
    "SUBCOMMANDS",
    "build_parser",
    "error_message",
    "exit_code",
    "main",
]

#: Subcommand modules (``tsmask_qgis.cli.<name>``), in the order --help lists them.
SUBCOMMANDS: tuple[str, ...] = (
    "run",
    "estimate",
    "sources",
    "demo",
    "cache",
    "evaluate",
    "products",
)

OK, ERROR, USAGE, BAD_INPUT, NO_DATA, UNREACHABLE, OUTPUT, CANCELLED = 0, 1, 2, 3, 4, 5, 6, 130

#: Exit codes and their meaning (also printed by ``tsmask --help``).
EXIT_CODES: dict[int, str] = {
    OK: "success",
    ERROR: "unexpected error (a bug: please report it, with --debug output)",
    USAGE: "usage error (bad or missing arguments)",
    BAD_INPUT: "bad input or data (unreadable file, missing band, invalid values)",
    NO_DATA: "no data found for the request",
    UNREACHABLE: "catalogue, data or scheduler unreachable (network, server error, timeout)",
    OUTPUT: "output exists (use --overwrite) or cannot be written (permissions, disk full)",
    CANCELLED: "cancelled (Ctrl-C)",
}

EPILOG = """\
examples:
  tsmask demo                                  # the whole pipeline offline on a bundled real sample
  tsmask run --bbox 149.055 -35.344 149.155 -35.244 --start 2017-01-01 --end 2018-12-31 --out canberra
  tsmask run --input stack.nc --preset dea --set cloud_spike=0.5 --format netcdf cog --out masks
  tsmask run --bbox ... --start ... --end ... --with-reference scl --truecolour --out checked
  tsmask estimate --bbox 149.055 -35.344 149.155 -35.244 --start 2017-01-01 --end 2018-12-31
  tsmask sources
  tsmask <command> --help

exit codes:
""" + "\n".join(f"  {code:<4} {text}" for code, text in EXIT_CODES.items())


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit with :data:`USAGE` and one clear line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    default = False if top else argparse.SUPPRESS
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="no progress bar"
    )
    parser.add_argument(
        "--debug", action="store_true", default=default, help="show tracebacks on errors"
    )


def build_parser() -> argparse.ArgumentParser:
    """The full ``tsmask`` parser with every registered subcommand."""
    parser = _Parser(
        prog="tsmask",
        description="Cloud and cloud-shadow masks (0 no observation, 1 clear, 2 cloud, "
        "3 shadow) for Sentinel-2 time series with the tsmask method.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tsmask {__version__}")
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"tsmask_qgis.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tsmask_qgis.cli.{name}":
                continue  # a subcommand not in this build
            raise
        before = set(sub.choices)
        module.register(sub)
        for new in set(sub.choices) - before:
            _common(sub.choices[new], top=False)
    return parser


#: How the command line points at the request or job field an error concerns: every
#: field of ``loaders.Request`` and ``pipeline.Job`` a command-line option sets.
FIELD_HINTS: dict[str, str] = {
    "request": "see --bbox, --start and --end",
    "bbox": "see --bbox",
    "start": "see --start",
    "end": "see --end",
    "source": "see --source",
    "stac_url": "see --stac-url",
    "collections": "see --collection",
    "resolution": "see --resolution",
    "crs": "see --crs",
    "cloud_cover": "see --cloud-cover",
    "band_map": "see --band",
    "input": "see --input",
    "out": "see --out",
    "overwrite": "use --overwrite to replace them, or another --out folder",
    "preset": "see --preset",
    "overrides": "see --set",
    "spatial": "see --no-spatial",
    "formats": "see --format",
    "products": "see --composite, --series and --masked",
    "mask": "see --mask",
    "period": "see --period (or the period of --composite)",
    "method": "see --method (or the method of --composite)",
    "composite": "see --composite",
    "max_cloud": "see --max-cloud",
    "index": "see --index or --series",
    "zones": "see --zones",
    "truecolour": "see --truecolour",
    "workers": "see --workers",
    "runner": "see --runner",
    "max_memory": "see --max-memory",
    "scheduler": "see --scheduler",
    "quicklook_dates": "see --quicklook",
    "reference": "see --with-reference",
    "cache": "see --no-cache",
    "concurrency": "see --concurrency",
    "shadow_geometry": "see --shadow-geometry",
    "cloud_buffer_m": "see --cloud-buffer",
    "shadow_buffer_m": "see --shadow-buffer",
    "margin_m": "see --shadow-geometry and the buffers (the margin they load)",
    "reference_kind": "see --reference-kind",
    "variable": "see --variable",
}


def exit_code(exc: BaseException) -> int:
    """The exit code for an exception raised by a command (:func:`tsmask_qgis.errors.exit_code`)."""
    return errors.exit_code(exc)


def error_message(exc: BaseException) -> str:
    """The one line the command prints for ``exc``: its message and, for the field it
    concerns, the option to look at."""
    text = " ".join((str(exc) or type(exc).__name__).split())
    hint = FIELD_HINTS.get(getattr(exc, "field", None) or "")
    if hint:
        text = f"{text} ({hint})"
    if exit_code(exc) == ERROR:
        name = getattr(exc, "type_name", type(exc).__name__)
        text = f"{name}: {getattr(exc, 'message', text)} (run again with --debug for details)"
    return text


@contextlib.contextmanager
def _library_noise(debug: bool) -> Iterator[None]:
    """Keep library log records and known-harmless warnings off the terminal.

    Without ``--debug`` the one-line error is the whole story: log records of the
    loaders' retries and odc-stac's read failures go nowhere (levels are left alone,
    so the loaders still see GDAL's warnings). With ``--debug`` they are printed.
    """
    import logging
    import warnings

    root = logging.getLogger()
    handler: logging.Handler | None = None
    if debug:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    elif not any(isinstance(h, logging.NullHandler) for h in root.handlers):
        # stays: reader threads may still log while the error is printed and we exit
        root.addHandler(logging.NullHandler())
    try:
        with warnings.catch_warnings():
            shown = warnings.showwarning

            def show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
                if issubclass(category, errors.TsmaskWarning):
                    print(f"tsmask: note: {message}", file=sys.stderr)
                else:
                    shown(message, category, filename, lineno, file, line)

            warnings.showwarning = show
            warnings.simplefilter("once", errors.TsmaskWarning)
            if not debug:
                # odc-stac reprojects in-memory blocks that carry no geotransform
                warnings.filterwarnings("ignore", message="Dataset has no geotransform")
            yield
    finally:
        if handler is not None:
            root.removeHandler(handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``tsmask`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _library_noise(bool(args.debug)):
            return int(args.func(args) or OK)
    except SystemExit:
        raise
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return OK
    except BaseException as exc:
        code = exit_code(exc)
        if args.debug:
            import traceback

            traceback.print_exc()
        if code == CANCELLED:
            print("tsmask: cancelled; no partial output left", file=sys.stderr)
        else:
            print(f"tsmask: error: {error_message(exc)}", file=sys.stderr)
        return code
