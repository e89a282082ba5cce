#!/usr/bin/env bash
# Set up everything tsmask-qgis needs on a Debian machine (run as root, or with sudo available):
#   1. Debian's QGIS Python bindings and what headless tests need, when missing;
#   2. ./.venv made from Debian's Python with --system-site-packages (so `import qgis` works);
#   3. the pinned Python dependencies chosen by Debian release, and the package itself;
#   4. the numba kernels compiled into their on-disk cache, so no user waits for it.
# Re-running is cheap: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

SYS_PY=/usr/bin/python3
codename=$( . /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-unknown}" )
case "$codename" in
  bookworm) req=requirements/bookworm.txt ;;
  trixie) req=requirements/trixie.txt ;;
  *) echo "setup-env: Debian release '$codename' is untested; using the Debian 13 pins" >&2
     req=requirements/trixie.txt ;;
esac

need_apt=()
"$SYS_PY" -c "import qgis.core" 2>/dev/null || need_apt+=(python3-qgis qgis-providers)
"$SYS_PY" -c "import ensurepip, venv" 2>/dev/null || need_apt+=(python3-venv)
command -v xvfb-run >/dev/null || need_apt+=(xvfb)
command -v qgis >/dev/null || need_apt+=(qgis)  # the desktop binary, for tests/plugin/test_desktop.py
command -v xauth >/dev/null || need_apt+=(xauth)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup-env: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup-env: creating $VENV from $SYS_PY (with system site packages, for qgis)"
  "$SYS_PY" -m venv --system-site-packages "$VENV"
fi

stamp=$VENV/.tsmask-env-stamp
want=$(cat "$req" pyproject.toml | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup-env: installing Python packages from $req"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r "$req"
  # Debian's python3-pyproj, seen through the system site packages, satisfies the pin on
  # some releases (trixie) but cannot find its data inside a venv (DataDirError in the
  # worker): the venv's own pyproj wheel, which ships its data, must be the one imported.
  if ! "$VENV/bin/python" -c 'import sys, pyproj; sys.exit(not pyproj.__file__.startswith(sys.prefix))' 2>/dev/null; then
    "$VENV/bin/python" -m pip install -q --ignore-installed "$(grep -E '^pyproj' "$req")"
  fi
  "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
fi

# Compile the kernels once, into numba's cache next to the sources.
[ ! -f tsmask_qgis/engine/warm.py ] || "$VENV/bin/python" -m tsmask_qgis.engine.warm
[ ! -f tsmask_qgis/products/warm.py ] || "$VENV/bin/python" -m tsmask_qgis.products.warm
echo "setup-env: ready ($("$VENV/bin/python" -c 'from qgis.core import Qgis; print("QGIS", Qgis.QGIS_VERSION)' 2>/dev/null || echo 'QGIS not importable'))"
