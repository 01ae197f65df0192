"""The Spark Connect protocol: connection strings, channels, sessions and RPCs."""
