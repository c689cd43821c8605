"""``python -m vigil_responder``: the same as the ``vigil-responder`` command."""

import sys

from vigil_responder.cli import main

sys.exit(main())
