"""The `connect` command line: thin click commands over sparkpush's services."""
