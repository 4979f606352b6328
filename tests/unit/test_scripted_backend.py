"""The scripted backend's script files: a list of turns, or an object with a delay and turns."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from backends.base import BackendConfigError
from backends.events import Done, GenerationParams, TokenDelta
from backends.options import BackendOptions
from backends.scripted import DEFAULT_DELAY_S, ScriptedBackend, load_script


def test_a_list_of_turns_uses_the_default_delay(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text(json.dumps([[{"type": "token", "text": "hi"}, {"type": "done"}]]))
    turns, delay = load_script(script)
    assert delay == DEFAULT_DELAY_S and turns == [[TokenDelta("hi"), Done("stop")]]


def test_an_object_sets_the_delay_and_the_backend_replays_it(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"delay_s": 0, "turns": [[{"type": "token", "text": "a"}]]}))
    backend = ScriptedBackend.from_options(BackendOptions(backend="scripted", model=str(script)))
    events = list(backend.stream([], GenerationParams(), cancel=threading.Event()))
    assert events == [TokenDelta("a"), Done("stop")]


BAD_SCRIPTS = ['{"delay_s": -1, "turns": []}', '{"delay": 1}', '[[{"type": "x"}]]', "{"]


@pytest.mark.parametrize("content", BAD_SCRIPTS)
def test_a_bad_script_is_a_clear_config_error(tmp_path: Path, content: str) -> None:
    script = tmp_path / "bad.json"
    script.write_text(content)
    with pytest.raises(BackendConfigError, match="cannot read script"):
        load_script(script)
