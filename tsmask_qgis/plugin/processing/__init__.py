"""The ``tsmask`` Processing provider and its algorithms."""

__all__: list[str] = []
