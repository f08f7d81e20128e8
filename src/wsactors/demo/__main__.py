"""``python -m wsactors.demo``: the same as ``wsactors demo``."""

import sys

from ..cli.main import main

if __name__ == "__main__":
    raise SystemExit(main(["demo", *sys.argv[1:]]))
