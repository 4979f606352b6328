"""Measured figures for internlm-tui; ``python -m benchmarks`` prints them as one JSON object."""
