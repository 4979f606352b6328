"""Export one conversation as Markdown or as JSON in the OpenAI messages format.

Both include the system prompt, the messages of the branch being shown, agent tool calls with
their results, and the per-reply figures (status, tokens, TTFT, tokens/s). The JSON also holds
``tree``: every message of every branch with its id and parent id, those of the shown branch
marked ``current``, so no version is lost. Text is exported raw, as stored.

Attached files travel inside the JSON as ``data:`` URLs (one file, nothing to keep beside it):
a prompt with images has OpenAI content parts (text, then ``image_url`` parts), exactly what a
server is sent, except that images are exported as attached, never scaled; every attachment,
images or not, is also listed under ``x_attachments`` with its name, type, size and sha256. The
Markdown names the files.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any, Literal

from backends.events import Attachment
from tui.store.store import HistoryStore, StoredMessage, StoreError

ExportFormat = Literal["md", "json"]


def _stats(message: StoredMessage) -> dict[str, Any]:
    stats = {
        "status": message.status,
        "backend": message.backend or None,
        "model": message.model or None,
        "prompt_tokens": message.prompt_tokens,
        "completion_tokens": message.completion_tokens,
        "ttft_s": message.ttft_s,
        "tokens_per_s": message.tokens_per_s,
        "params": message.params or None,
        "created_at": message.created_at,
    }
    return {key: value for key, value in stats.items() if value is not None}


def _data_url(attachment: Attachment) -> str:
    return f"data:{attachment.mime};base64,{base64.b64encode(attachment.data).decode('ascii')}"


def _files_json(files: tuple[Attachment, ...]) -> list[dict[str, Any]]:
    return [
        {"name": a.name, "mime": a.mime, "size": len(a.data), "sha256": a.sha256, "url": _data_url(a)}
        for a in files
    ]


def _content(text: str, files: tuple[Attachment, ...]) -> str | list[dict[str, Any]]:
    """A prompt's content: the text, or text and image parts when images went with it."""
    pictures = [a for a in files if a.is_image]
    if not pictures:
        return text
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": _data_url(a)}} for a in pictures]
    return parts


def to_openai(store: HistoryStore, conversation_id: int) -> dict[str, Any]:
    """The conversation as ``{"title", ..., "messages": [...]}`` in OpenAI chat format."""
    conversation = store.get_conversation(conversation_id)
    if conversation is None:
        raise StoreError(f"no conversation with id {conversation_id} (see internlm-tui --list)")
    messages: list[dict[str, Any]] = []
    if conversation.system:
        messages.append({"role": "system", "content": conversation.system})
    path = store.get_path(conversation_id)
    every = store.get_messages(conversation_id)
    files = store.attachments([m.id for m in every])  # prompts' files and tools' images
    for message in path:
        tools = store.tool_events(message.id) if message.role == "assistant" else []
        if tools:
            messages.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": t.call_id,
                            "type": "function",
                            "function": {"name": t.name, "arguments": t.arguments},
                        }
                        for t in tools
                    ],
                }
            )
            for tool in tools:
                entry: dict[str, Any] = {
                    "role": "tool",
                    "tool_call_id": tool.call_id,
                    "content": tool.output or "",
                }
                entry["x_stats"] = {
                    k: v for k, v in (("ok", tool.ok), ("elapsed_s", tool.elapsed_s)) if v is not None
                }
                messages.append(entry)
        item: dict[str, Any] = {
            "role": message.role,
            "content": _content(message.content, files.get(message.id, ()))
            if message.role == "user"
            else message.content,
        }
        if files.get(message.id):
            item["x_attachments"] = _files_json(files[message.id])
        if message.role == "assistant":
            item["x_stats"] = _stats(message)
        item["x_id"], item["x_parent_id"] = message.id, message.parent_id
        messages.append(item)
    on_path = {m.id for m in path}
    tree = [
        {
            "id": m.id,
            "parent_id": m.parent_id,
            "role": m.role,
            "content": m.content,
            "current": m.id in on_path,
            **({"x_stats": _stats(m)} if m.role == "assistant" else {}),
            **({"x_attachments": _files_json(files[m.id])} if files.get(m.id) else {}),
        }
        for m in every
    ]
    return {
        "id": conversation.id,
        "title": conversation.title,
        "created_at": conversation.created_at,
        "backend": conversation.backend,
        "model": conversation.model,
        "params": conversation.params,
        "backend_options": conversation.options,
        "messages": messages,
        "current_leaf_id": conversation.leaf_id,
        "tree": tree,
    }


def to_markdown(store: HistoryStore, conversation_id: int) -> str:
    """A readable Markdown transcript with tool calls and figures."""
    data = to_openai(store, conversation_id)
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(data["created_at"]))
    lines = [f"# {data['title']}", "", f"*{when} · {data['backend']} · {data['model']}*", ""]
    for message in data["messages"]:
        role = message["role"]
        if role == "system":
            lines += ["## System", "", message["content"], ""]
        elif role == "user":
            content = message["content"]
            text = content if isinstance(content, str) else content[0]["text"]
            lines += ["## You", "", text, ""]
            for item in message.get("x_attachments", []):
                lines += [f"*Attached: {item['name']} ({item['mime']}, {item['size']:,} bytes)*", ""]
        elif role == "tool":
            stats = message.get("x_stats", {})
            status = "ok" if stats.get("ok", True) else "error"
            elapsed = f" · {stats['elapsed_s']:.2f} s" if "elapsed_s" in stats else ""
            lines += [f"**Tool result** ({status}{elapsed})", "", "```", message["content"], "```", ""]
        elif message.get("tool_calls"):
            for call in message["tool_calls"]:
                fn = call["function"]
                lines += [f"**Tool call** `{fn['name']}`", "", "```", fn["arguments"], "```", ""]
        else:
            stats = message.get("x_stats", {})
            figures = [
                f"{stats['tokens_per_s']:.1f} tok/s" if stats.get("tokens_per_s") else "",
                f"TTFT {stats['ttft_s']:.2f} s" if stats.get("ttft_s") else "",
                f"{stats['completion_tokens']} tokens" if stats.get("completion_tokens") else "",
                stats.get("status", "") if stats.get("status") not in (None, "done") else "",
            ]
            lines += ["## Assistant", "", message["content"], ""]
            for item in message.get("x_attachments", []):
                lines += [f"*Tool image: {item['name']} ({item['mime']}, {item['size']:,} bytes)*", ""]
            shown = " · ".join(f for f in figures if f)
            if shown:
                lines += [f"*{shown}*", ""]
    return "\n".join(lines)


def export(store: HistoryStore, conversation_id: int, fmt: ExportFormat) -> str:
    """The conversation as text in ``fmt``."""
    if fmt == "json":
        return json.dumps(to_openai(store, conversation_id), indent=2, ensure_ascii=False) + "\n"
    return to_markdown(store, conversation_id)
