"""The front end of machine-tui: the CLI entry point and the Textual app."""
