"""A chat's own settings as a form: system prompt and sampling values, read and checked (no UI).

The settings screen shows ``form_from`` and gives back what the user typed; ``parse_form``
turns that into a system prompt and ``GenerationParams`` or one line saying which field is
wrong. An empty field means the model's own default (the system prompt: none).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from backends.events import GenerationParams

FIELDS: tuple[tuple[str, str], ...] = (
    ("temperature", "Temperature (0 = greedy)"),
    ("top_p", "Top-p (0–1)"),
    ("top_k", "Top-k"),
    ("repetition_penalty", "Repetition penalty"),
    ("max_new_tokens", "Max new tokens"),
    ("seed", "Seed"),
)
"""The sampling fields, in the order shown, with their labels."""


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """What a chat's next replies use."""

    system: str | None
    params: GenerationParams


def form_from(settings: ChatSettings) -> dict[str, str]:
    """The settings as the text of each field."""
    values = {name: getattr(settings.params, name) for name, _label in FIELDS}
    form = {name: "" if value is None else repr(value) for name, value in values.items()}  # exact
    form["system"] = settings.system or ""
    return form


def _number(text: str, *, integer: bool, low: float, high: float | None = None) -> float | int:
    value: float | int = int(text) if integer else float(text)
    if value != value or value < low or (high is not None and value > high):  # NaN or out of range
        raise ValueError
    return value


def _positive(text: str, *, high: float) -> float:
    value = float(text)
    if not 0.0 < value <= high:  # also false for NaN
        raise ValueError
    return value


_CHECKS: dict[str, tuple[Callable[[str], float | int], str]] = {
    "temperature": (lambda t: _number(t, integer=False, low=0.0, high=100.0), "a number ≥ 0"),
    "top_p": (lambda t: _number(t, integer=False, low=0.0, high=1.0), "a number from 0 to 1"),
    "top_k": (lambda t: _number(t, integer=True, low=1), "a whole number ≥ 1"),
    "repetition_penalty": (lambda t: _positive(t, high=100.0), "a number > 0"),
    "max_new_tokens": (lambda t: _number(t, integer=True, low=1, high=1_000_000), "a whole number ≥ 1"),
    "seed": (lambda t: _number(t, integer=True, low=0, high=2**63 - 1), "a whole number ≥ 0"),
}


def parse_form(form: Mapping[str, str], base: GenerationParams) -> ChatSettings | str:
    """The settings the form describes, or one line naming the first wrong field."""
    values: dict[str, float | int | None] = {}
    labels = dict(FIELDS)
    for name, (check, expected) in _CHECKS.items():
        text = form.get(name, "").strip()
        if not text:
            values[name] = None
            continue
        try:
            values[name] = check(text)
        except (ValueError, OverflowError):
            return f"{labels[name]}: {text!r} is not {expected}"
    system = form.get("system", "").strip() or None
    return ChatSettings(system, replace(base, **values))  # type: ignore[arg-type]
