"""The `connect` command line: thin click commands over sparkpush's services."""

from __future__ import annotations

import os

# gRPC's C core prints its own INFO lines on stderr (e.g. a failed TLS handshake), which would
# break our one-line errors; set before anything imports grpc, and the user's value wins.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
