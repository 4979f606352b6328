"""internlm-tui: the Textual app, its CLI, config and history store."""

__version__ = "0.1.0"
