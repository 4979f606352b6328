"""One widget per module; this package re-exports nothing on purpose (import the module)."""
