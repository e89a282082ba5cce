"""``python -m tsmask_qgis.jobs``: the job child (:mod:`tsmask_qgis.jobs.child`)."""

import sys

from tsmask_qgis.jobs.child import main

if __name__ == "__main__":
    sys.exit(main())
