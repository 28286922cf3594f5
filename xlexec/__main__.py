"""``python -m xlexec``: the same as the ``xlexec`` command."""

import sys

from xlexec.cli import main

sys.exit(main())
