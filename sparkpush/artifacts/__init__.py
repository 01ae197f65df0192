"""Artifacts: kinds, names, packing, hashing, caches and uploads."""
