"""Long-running and wrapping commands: envr watch and envr shell -p."""
