"""machine-tui's command line: docker-machine's commands, flags, output and exit codes."""
