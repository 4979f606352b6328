"""``--resume [ID]``: find the conversation and continue it with the settings it was saved with.

Flags given on the command line win; everything not given (backend, model, server URL,
generation settings) comes from the conversation. No Textual import: runs before the app.
"""

from __future__ import annotations

import argparse

from tui.store.store import HistoryStore, StoreError

LATEST = -1
"""``--resume`` without an id: the most recently used conversation."""

_GENERATION_FLAGS = ("temperature", "top_p", "top_k", "repetition_penalty", "max_new_tokens", "seed")


def apply_resume(args: argparse.Namespace, store: HistoryStore) -> None:
    """Resolve ``args.resume`` to an existing id and fill the flags not given from the store."""
    wanted = args.resume
    if wanted == LATEST:
        wanted = store.latest_conversation_id()
        if wanted is None:
            raise StoreError("--resume: there are no saved conversations yet")
    summary = store.get_conversation(wanted)
    if summary is None:
        raise StoreError(f"--resume: no conversation with id {wanted} (see internlm-tui --list)")
    args.resume = wanted
    options = summary.options
    if options and args.backend is None and args.model is None and args.base_url is None:
        args.backend = options.get("backend")
        args.model = options.get("model")
        args.base_url = options.get("base_url")
    params = summary.params
    for name in _GENERATION_FLAGS:
        if getattr(args, name) is None and params.get(name) is not None:
            setattr(args, name, params[name])
    if args.no_stream is None and params.get("stream") is False:
        args.no_stream = True
