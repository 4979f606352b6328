"""InternLM2/2.5/3's special tokens, defined once for the tokenizer, template, parser and agent."""

from __future__ import annotations

END_OF_TURN = "<|im_end|>"
"""Ends every turn; generation stops here."""
ACTION_START = "<|action_start|>"
ACTION_END = "<|action_end|>"
INTERPRETER = "<|interpreter|>"
PLUGIN = "<|plugin|>"
TOOL_NAMES = (INTERPRETER, PLUGIN)
ACTION_TOKENS = (ACTION_START, ACTION_END, INTERPRETER, PLUGIN)
"""The tool-protocol tokens, which decoding keeps so the agent sees the call."""
