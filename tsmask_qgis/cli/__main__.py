"""``python -m tsmask_qgis.cli`` runs the ``tsmask`` command."""

import sys

from tsmask_qgis.cli import main

if __name__ == "__main__":
    sys.exit(main())
