"""coopfed's protocol: pure functions and frozen values, bytes in and bytes out, no I/O."""

__all__: list[str] = []
