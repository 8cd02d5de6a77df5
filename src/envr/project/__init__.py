"""The project: envr.toml, envr.lock and the [packages] they pin."""
