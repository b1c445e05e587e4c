"""Runtime: running exported models."""
