"""The prompt's core: what the hook asks for at a real change, computed on a lean path."""
