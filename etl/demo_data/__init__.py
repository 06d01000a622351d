"""Bundled sample data for `make demo`."""
