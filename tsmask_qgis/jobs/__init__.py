"""Running tsmask work in a plain Python child process: the interpreter, the protocol,
the child's job table. Nothing here imports ``qgis``; the parent side imports only the
standard library and the project's standard-library modules."""
