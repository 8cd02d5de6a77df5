"""envr: per-project environments applied by a shell hook and reverted exactly on leave."""

__version__ = "0.1.0"
