"""``python -m minidl.exercises list | check NAME | check all | init DIR`` (see commands.py)."""

import sys

from .commands import main

sys.exit(main())
