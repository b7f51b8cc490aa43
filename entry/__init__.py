"""machine-tui: Docker hosts from a full-screen terminal UI or docker-machine's CLI. The engine is machine_tui.core,
the command line machine_tui.cli, the app machine_tui.tui; `python -m machine_tui` is the `machine-tui` program."""
