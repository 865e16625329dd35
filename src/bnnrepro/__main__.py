"""``python -m bnnrepro``: the command-line interface (see :mod:`bnnrepro.cli`)."""

import sys

from bnnrepro.cli import main

sys.exit(main())
