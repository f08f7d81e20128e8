"""``python -m benchmarks``: run the load benchmarks (see :mod:`benchmarks.harness`)."""

from __future__ import annotations

import sys

from .harness import main

sys.exit(main())
