"""Bringing a project's server session up to date, one generation at a time."""
