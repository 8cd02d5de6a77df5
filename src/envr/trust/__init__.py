"""Approvals: nothing of a project runs until the user approved its exact content."""
