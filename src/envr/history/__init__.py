"""What a project and the user had: project generations and the user profile."""
