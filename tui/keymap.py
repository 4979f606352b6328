"""The ids of every binding in the app, so a ``[keymap]`` entry with a typo is caught at start-up."""

from __future__ import annotations

from textual.binding import Binding
from textual.dom import DOMNode


def _subclasses(cls: type[DOMNode]) -> list[type[DOMNode]]:
    """Every class below ``cls``, each once (a class with two DOM bases is found through both)."""
    found: dict[type[DOMNode], None] = {}
    for sub in cls.__subclasses__():
        found[sub] = None
        found.update(dict.fromkeys(_subclasses(sub)))
    return list(found)


GROUP_TITLES = {
    "ChatScreen": "Chat",
    "PromptInput": "Prompt",
    "ChatPane": "Chat pane (tab to it)",
    "HistorySidebar": "History sidebar (F2)",
    "TracePanel": "Trace panel (F3, tab to it)",
    "CopyPicker": "Copy list (F4)",
    "ApprovalScreen": "Approve a tool call",
    "AutoApproveConfirm": "Confirm auto-approve from the config file",
    "ConfirmScreen": "Confirm",
    "RenameScreen": "Rename",
    "ModelPicker": "Model list (ctrl+o)",
    "AttachmentList": "Attached files (Tab to them)",
    "AttachPicker": "Attach a file (F5)",
    "ServersScreen": "Servers (F12)",
    "KeysHelp": "This list",
    "InternLMApp": "Anywhere",
}
"""Sections of the F1 list, in order; classes not named here follow under their own name."""

TEXTUAL_KEYS = [("ctrl+p", "Command palette: every action by name"), ("tab / shift+tab", "Move focus")]


def _our_classes() -> list[type[DOMNode]]:
    import tui.app  # noqa: F401  (imports every screen and widget the app uses)

    return [cls for cls in _subclasses(DOMNode) if cls.__module__.startswith("tui.")]


def binding_groups(keymap: dict[str, str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(keys, what it does)]) for the F1 list, with ``keymap`` applied."""
    order = list(GROUP_TITLES)
    classes = sorted(
        (cls for cls in _our_classes() if cls.__dict__.get("BINDINGS")),
        key=lambda cls: order.index(cls.__name__) if cls.__name__ in order else len(order),
    )
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for cls in classes:
        rows = [
            (keymap.get(binding.id, binding.key) if binding.id else binding.key, binding.description)
            for binding in cls.__dict__["BINDINGS"]
            if isinstance(binding, Binding) and binding.description
        ]
        if rows:
            groups.append((GROUP_TITLES.get(cls.__name__, cls.__name__), rows))
    groups.append(("Textual", TEXTUAL_KEYS))
    return groups


def binding_ids() -> set[str]:
    """Ids of the bindings of our app, screens and widgets (remappable through Textual's keymap)."""
    ids: set[str] = set()
    for cls in _our_classes():
        for binding in cls.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids
