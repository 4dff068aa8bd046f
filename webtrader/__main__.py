"""``python -m webtrader``: the same as the ``webtrader`` command."""

import sys

from webtrader.cli import main

sys.exit(main())
