"""InternLM chat format details: the default system prompt and named system/environment turns.

InternLM2/2.5 and InternLM3 chat models ship a ChatML-like template that renders each message
as ``<|im_start|>{role}\\n{content}<|im_end|>\\n``. Two things the app needs are not in it:

* the system prompt the model cards use when the user gives none, and
* the turns InternLM2's tool protocol adds: ``system name=<|interpreter|>`` (or ``<|plugin|>``)
  describing a tool, and ``environment name=...`` carrying its result.

``wrap_template`` puts a short preamble in front of the model's own template that rewrites the
message list, so the model's template still renders every turn. Our messages carry the tool
name as the first line of their content (``tool_content``) because the local backend passes
only role and content to the template; a ``tool`` message becomes an ``environment`` turn.
"""

from __future__ import annotations

import json

from backends.internlm.tokens import TOOL_NAMES

DEFAULT_SYSTEM_PROMPT = (
    "You are an AI assistant whose name is InternLM (书生·浦语).\n"
    "- InternLM (书生·浦语) is a conversational language model that is developed by Shanghai AI "
    "Laboratory (上海人工智能实验室). It is designed to be helpful, honest, and harmless.\n"
    "- InternLM (书生·浦语) can understand and communicate fluently in the language chosen by the "
    "user such as English and 中文."
)
"""The ``meta_instruction`` of the InternLM2/2.5 model cards and InternLM3's ``system_prompt``."""


_MARKER = "{#- internlm-tui: default system prompt and named turns #}"

_PREAMBLE = (
    _MARKER + "{%- set _itui = namespace(messages=[]) -%}"
    "{%- for _m in messages -%}"
    "{%- set _t = namespace(role=_m['role'], content=_m['content']) -%}"
    "{%- if _t.role == 'tool' -%}{%- set _t.role = 'environment' -%}{%- endif -%}"
    "{%- if _t.role in ['system', 'environment'] and _t.content is string -%}"
    "{%- for _tag in " + json.dumps(list(TOOL_NAMES)) + " -%}"
    "{%- if ' name=' not in _t.role and _t.content.startswith(_tag + '\\n') -%}"
    "{%- set _t.role = _t.role + ' name=' + _tag -%}"
    "{%- set _t.content = _t.content[(_tag | length) + 1:] -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{%- set _itui.messages = _itui.messages + [{'role': _t.role, 'content': _t.content}] -%}"
    "{%- endfor -%}"
    "{%- if not (_itui.messages and _itui.messages[0]['role'] == 'system') -%}"
    "{%- set _itui.messages = [{'role': 'system', 'content': " + json.dumps(DEFAULT_SYSTEM_PROMPT) + "}]"
    " + _itui.messages -%}"
    "{%- endif -%}"
    "{%- set messages = _itui.messages -%}"
)


def wrap_template(template: str) -> str:
    """The model's chat template with our preamble in front (idempotent)."""
    if template.startswith(_MARKER):
        return template
    return _PREAMBLE + template


def tool_content(tool: str, text: str) -> str:
    """Content for a system or tool message that the template renders with ``name=tool``."""
    if tool not in TOOL_NAMES:
        raise ValueError(f"unknown InternLM tool name {tool!r}")
    return f"{tool}\n{text}"
