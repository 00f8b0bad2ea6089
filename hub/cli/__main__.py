"""``python -m hub.cli``: the ``lienthong`` command."""

import sys

from hub.cli import main

sys.exit(main())
