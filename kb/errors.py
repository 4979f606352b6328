"""The knowledge base's one error type, light to import (the CLI catches it before loading numpy)."""


class KbError(Exception):
    """The knowledge base cannot be used (folder missing, index unwritable); one line."""
