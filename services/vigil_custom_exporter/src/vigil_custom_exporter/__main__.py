"""``python -m vigil_custom_exporter``: the same as the ``vigil-custom-exporter`` command."""

import sys

from vigil_custom_exporter.cli import main

sys.exit(main())
