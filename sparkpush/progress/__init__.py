"""What a long operation tells the person while it runs: a line, bytes done, a status line."""
