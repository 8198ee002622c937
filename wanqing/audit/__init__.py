"""`wanqing audit`: what an auditor runs (docs/audit.md). Each module below registers its commands on `app`."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True,
                  help="For auditors: signed checkpoints, bundles, verification, history as of a date.")

# The commands live in their own modules and register themselves on `app` when imported.
from wanqing.audit import as_of_cli, bundle_cli  # noqa: E402, F401
