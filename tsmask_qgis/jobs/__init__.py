"""Running tsmask work in a plain Python child process.

- :mod:`~tsmask_qgis.jobs.interpreter`: which Python runs the children (stdlib);
- :mod:`~tsmask_qgis.jobs.protocol`: the frames both sides exchange (stdlib);
- :mod:`~tsmask_qgis.jobs.client`: the QGIS side — warm children, ``run(job)``,
  cancel, shutdown (stdlib and the project's stdlib-only modules);
- :mod:`~tsmask_qgis.jobs.child` (``python -m tsmask_qgis.jobs``) and
  :mod:`~tsmask_qgis.jobs.table`: the child's loop and its jobs, which import the
  pipeline, engine and writers — never ``qgis``, and never in the QGIS process.

This ``__init__`` imports nothing.
"""
