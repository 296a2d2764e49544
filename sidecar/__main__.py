"""``python -m sidecar`` is the ``cachecar`` command."""

import sys

from sidecar.cli import main

sys.exit(main())
