"""How tsmask names its temporary files and shared-memory segments (standard library only).

One scheme for every part: a temporary file or folder is created in the folder
of its final file under a name that starts with :data:`TMP_PREFIX` and is
renamed over the final name when complete; shared-memory segments of the
engine's worker pool start with :data:`SHM_PREFIX` followed by the owning
process id. Whoever cleans up after a killed process (the next run, the
plugin's job runner) finds them by these prefixes alone.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["SHM_PREFIX", "TMP_PREFIX", "shm_name", "temp_name", "temp_patterns"]

#: Prefix of every temporary file or folder (hidden on Unix).
TMP_PREFIX = ".tsmask-tmp-"
#: Prefix of every shared-memory segment; the creating process id follows it.
SHM_PREFIX = "tsmask_"


def temp_name(final: str | os.PathLike[str]) -> Path:
    """A unique temporary name beside ``final`` that keeps its name and suffix visible
    (drivers that look at the suffix, and sidecars such as ``.hdr``, behave)."""
    final = Path(final)
    return final.with_name(f"{TMP_PREFIX}{secrets.token_hex(4)}-{final.name}")


def shm_name(pid: int | None = None) -> str:
    """A unique shared-memory segment name owned by process ``pid`` (default: this one)."""
    return f"{SHM_PREFIX}{os.getpid() if pid is None else pid}_{secrets.token_hex(6)}"


def temp_patterns(*folders: str | os.PathLike[str]) -> list[str]:
    """Glob patterns of the temporary files in ``folders`` and one level below them."""
    out = []
    for folder in folders:
        out.append(str(Path(folder) / f"{TMP_PREFIX}*"))
        out.append(str(Path(folder) / "*" / f"{TMP_PREFIX}*"))
    return out
