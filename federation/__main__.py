"""``python -m federation`` is the ``federation`` command."""

import sys

from .cli import main

sys.exit(main())
