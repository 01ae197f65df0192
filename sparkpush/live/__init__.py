"""The project's live generation in tests, shells and notebooks: held, cloned, refreshed."""
