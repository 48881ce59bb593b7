"""High-level entry points used by ``tools/``."""
