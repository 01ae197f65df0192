"""Artifacts: kinds, names, packing, hashing, manifest and uploads."""
