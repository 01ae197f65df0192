"""The server a command talks to: --remote, SPARK_REMOTE, config, or the embedded server."""
