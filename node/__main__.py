"""``python -m coopfed.node``: the same command line as the ``coopfed`` console script."""

from .cli import main

main()
