"""`python -m webhook` runs the `egress-webhook` command."""

import sys

from webhook.cli import main

sys.exit(main())
