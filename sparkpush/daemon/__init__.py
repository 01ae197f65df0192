"""The watch daemon: watches build output, syncs it, and serves the current generation."""
