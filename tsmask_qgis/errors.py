"""The one error tree of tsmask (standard library only; every part may import it).

Every error the project raises on purpose derives from :class:`TsmaskError`.
A subclass carries what callers branch on, never its message text:

- :attr:`TsmaskError.exit_code`, the ``tsmask`` command's exit status for it;
- :attr:`TsmaskError.field`, the request or job field it concerns (``"bbox"``,
  ``"start"``, ``"out"``, ``"overwrite"``, ``"input"``, ``"source"``, ...), or
  ``None``. The names are those of ``loaders.Request`` and ``pipeline.Job``.

Messages say what is wrong and what to do in words that fit every front end:
they name no command-line flag and no Python keyword. The command line and
the QGIS dialog each add their own pointer to the field (``--overwrite``, the
*Overwrite existing outputs* box) from :attr:`~TsmaskError.field`.

Errors cross process boundaries as plain values (:meth:`TsmaskError.to_plain`,
:func:`from_plain`), rebuilt by class name from this module: nobody parses a
message to learn what kind of error it was.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "CacheWarning",
    "Cancelled",
    "DependencyError",
    "DiskFullError",
    "FetchError",
    "InputError",
    "InputWarning",
    "InternalError",
    "LoadError",
    "NoDataError",
    "OutputError",
    "OutputExistsError",
    "OutputLockedError",
    "OutputNotWritableError",
    "ParameterError",
    "ReadError",
    "SearchError",
    "TsmaskError",
    "TsmaskWarning",
    "UnreachableError",
    "WorkerError",
    "exit_code",
    "from_plain",
    "plain_error",
]


class TsmaskError(Exception):
    """The root of every error tsmask raises on purpose.

    ``field`` names the request or job field the error concerns (``None``
    when it concerns none); ``details`` may carry a traceback or a longer
    explanation for a log (never shown as the message).
    """

    #: The ``tsmask`` command's exit status for this kind of error.
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str = "", *, field: str | None = None, details: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.details = details

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def to_plain(self) -> dict[str, Any]:
        """This error as plain values (for a process boundary)."""
        return {
            "type": type(self).__name__,
            "message": self.message,
            "field": self.field,
            "details": self.details,
        }


class ParameterError(TsmaskError, ValueError):
    """A parameter of a request or job is missing or invalid (a bad bbox, date, preset...)."""

    exit_code = 2


class InputError(TsmaskError, ValueError):
    """The input data cannot be used: unreadable file, missing band, impossible values."""

    exit_code = 3


class TsmaskWarning(UserWarning):
    """Something the user should know; the run goes on. The pipeline turns each into one
    note of the job's result, the command line prints it as one line."""


class InputWarning(TsmaskWarning):
    """The input may not mean what it says (an undeclared nodata value, no CRS...): the
    message says what to check and how to silence it."""


class CacheWarning(TsmaskWarning):
    """The reflectance cache had a damaged entry: it was dropped and is fetched again."""


class NoDataError(TsmaskError, LookupError):
    """The catalogue has no acquisitions for the request, or the input holds no date."""

    exit_code = 4


class UnreachableError(TsmaskError, ConnectionError):
    """A catalogue, its data or a dask scheduler cannot be reached (network, server, timeout)."""

    exit_code = 5


class SearchError(UnreachableError):
    """The STAC catalogue could not be searched (server error, timeout, bad answer)."""


class LoadError(TsmaskError):
    """Pixel data could not be loaded; the message names the scene, band and file."""

    exit_code = 3


class ReadError(LoadError, InputError):
    """The data arrived but cannot be read: a damaged, truncated or wrong file."""

    exit_code = 3


class FetchError(LoadError, UnreachableError):
    """The data could not be fetched: HTTP errors, time-outs, connection failures."""

    exit_code = 5


class OutputError(TsmaskError, OSError):
    """An output cannot be written."""

    exit_code = 6


class OutputExistsError(OutputError, FileExistsError):
    """Outputs exist already and overwriting them was not asked for."""


class OutputNotWritableError(OutputError, PermissionError):
    """The output folder cannot be created or written (permissions, read-only, a file)."""


class DiskFullError(OutputNotWritableError):
    """The disk holding the outputs is full."""


class OutputLockedError(OutputError):
    """Another run is writing into the same output folder."""


class Cancelled(TsmaskError):
    """The user cancelled the job. Raised from a progress callback or a worker."""

    exit_code = 130


class WorkerError(TsmaskError, RuntimeError):
    """A worker process failed or died without answering."""


class DependencyError(TsmaskError, ImportError):
    """A Python package the work needs is missing or too old."""


class InternalError(TsmaskError, RuntimeError):
    """An unexpected error (a bug): ``type_name`` is the original exception's class."""

    def __init__(
        self,
        message: str = "",
        *,
        field: str | None = None,
        details: str = "",
        type_name: str = "Exception",
    ) -> None:
        super().__init__(message, field=field, details=details)
        self.type_name = type_name

    def to_plain(self) -> dict[str, Any]:
        return {**super().to_plain(), "type_name": self.type_name}

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}"


def _classes() -> dict[str, type[TsmaskError]]:
    out: dict[str, type[TsmaskError]] = {}
    todo: list[type[TsmaskError]] = [TsmaskError]
    while todo:
        cls = todo.pop()
        out[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return out


def from_plain(info: dict[str, Any]) -> TsmaskError:
    """Rebuild an error from :meth:`TsmaskError.to_plain` (or a foreign exception's plain form).

    An unknown ``type`` becomes :class:`InternalError` carrying the name.
    """
    name = str(info.get("type", "TsmaskError"))
    cls = _classes().get(name)
    message = str(info.get("message", ""))
    field = info.get("field")
    details = str(info.get("details", ""))
    if cls is None or cls is InternalError:
        return InternalError(
            message,
            field=field,
            details=details,
            type_name=str(info.get("type_name", name if cls is None else "Exception")),
        )
    return cls(message, field=field, details=details)


def plain_error(exc: BaseException, details: str = "") -> dict[str, Any]:
    """Any exception as plain values: a :class:`TsmaskError` as itself, others as internal."""
    if isinstance(exc, TsmaskError):
        info = exc.to_plain()
        if details and not info.get("details"):
            info["details"] = details
        return info
    return {
        "type": "InternalError",
        "type_name": type(exc).__name__,
        "message": str(exc),
        "field": None,
        "details": details,
    }


def exit_code(exc: BaseException) -> int:
    """The ``tsmask`` exit status for ``exc``.

    A :class:`TsmaskError` carries its own; a few built-in kinds map by type
    (never by text): interrupts 130, network 5, permissions 6, bad values 3;
    anything else is a bug (1).
    """
    if isinstance(exc, TsmaskError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return Cancelled.exit_code
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return UnreachableError.exit_code
    if isinstance(exc, PermissionError):
        return OutputError.exit_code
    if isinstance(exc, (ValueError, FileNotFoundError, KeyError)):
        return InputError.exit_code
    return 1
