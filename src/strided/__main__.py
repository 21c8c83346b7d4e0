"""``python -m strided ...``: the same command line as ``strided ...``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
