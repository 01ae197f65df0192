"""One module per `connect` command."""
