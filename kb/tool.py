"""``kb_search``: the knowledge-base search as a tool an agent's model can call.

It has the shape of a function-calling tool (a name, a description, JSON-schema parameters and
``run(arguments) -> str``), so an agent's tool registry can take it without importing ``kb``
(the backends never do: the app injects the tool). The result is plain text: numbered hits
with their file and lines, which the model can cite like grounded sources. Arguments come from
a model and are checked, never trusted; a bad call returns an error line, never raises.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kb.grounding import label
from kb.knowledge import KnowledgeSet

MAX_TOP_K = 10
MAX_QUERY_CHARS = 1000


class KbSearchTool:
    """Searches the attached folders (see the module docstring)."""

    name = "kb_search"
    description = (
        "Search the user's documents (the attached knowledge base) for passages relevant to a "
        "query, in English, Chinese, Japanese or Korean. Returns numbered passages with their "
        "file and line range; cite them as [1], [2]."
    )
    parameters: Mapping[str, Any] = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "what to look for, in words"},
            "top_k": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_TOP_K,
                "description": "how many passages to return (default 5)",
            },
        },
        "required": ["query"],
        "additionalProperties": False,
    }

    def __init__(self, knowledge: KnowledgeSet) -> None:
        self.knowledge = knowledge

    def run(self, arguments: str | Mapping[str, Any]) -> str:
        """Search for ``arguments["query"]`` (a JSON object or its text); numbered hits as text."""
        if isinstance(arguments, str):
            try:
                arguments = (
                    json.loads(arguments) if arguments.strip().startswith("{") else {"query": arguments}
                )
            except json.JSONDecodeError:
                return 'error: arguments must be a JSON object with a "query" string'
        if not isinstance(arguments, Mapping):
            return 'error: arguments must be a JSON object with a "query" string'
        query = arguments.get("query")
        top_k = arguments.get("top_k", 5)
        if not isinstance(query, str) or not query.strip():
            return 'error: "query" must be a non-empty string'
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
            return f'error: "top_k" must be an integer from 1 to {MAX_TOP_K}'
        if not self.knowledge:
            return "error: no knowledge base is attached"
        try:
            hits = self.knowledge.search(query[:MAX_QUERY_CHARS], top_k)
        except Exception as exc:  # a vanished folder, a broken index: the model is told, the turn goes on
            return f"error: knowledge base search failed: {type(exc).__name__}"
        if not hits:
            return "no passages found"
        return "\n\n".join(
            f"[{number}] {label(hit)}\n{hit.text.strip()}" for number, hit in enumerate(hits, start=1)
        )
