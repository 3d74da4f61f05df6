"""Runtimes start and stop things and report PIDs; the node reader does the looking."""
