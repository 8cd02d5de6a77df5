"""Working on a project together: the lock workflow, editing envr.toml, git hooks."""
