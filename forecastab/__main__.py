"""``python -m forecastab``: the same command line as ``forecastab``."""

import sys

from forecastab.cli import main

if __name__ == "__main__":
    sys.exit(main())
