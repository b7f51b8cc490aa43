"""The engine of machine-tui: store, certificates, drivers, operations. Never imports textual or rich."""

VERSION = "0.1.0"
