"""The project's `[tool.sparkpush]` configuration, and which configs the user trusts."""
