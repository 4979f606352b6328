"""The chat session: one Textual-free owner of the current chat (filled in by the core refactor)."""
