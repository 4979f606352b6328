"""The chat settings form: values read and checked, one line for the first wrong field."""

from __future__ import annotations

from backends.events import GenerationParams
from tui.chat_settings import ChatSettings, form_from, parse_form


def test_the_form_round_trips_and_empty_fields_mean_the_model_default() -> None:
    base = GenerationParams(temperature=0.7, top_k=40, max_new_tokens=256, seed=3, stop=("END",))
    form = form_from(ChatSettings("be brief", base))
    assert form["temperature"] == "0.7" and form["top_p"] == "" and form["system"] == "be brief"
    assert parse_form(form, base) == ChatSettings("be brief", base)
    form.update(temperature="", top_p="0.9", system="  ")
    parsed = parse_form(form, base)
    assert isinstance(parsed, ChatSettings) and parsed.system is None
    assert parsed.params.temperature is None and parsed.params.top_p == 0.9
    assert parsed.params.stop == ("END",)  # what the form does not show is kept


def test_a_wrong_field_is_named_in_one_line() -> None:
    base = GenerationParams()
    for field, text, expected in [
        ("temperature", "hot", "Temperature (0 = greedy): 'hot' is not a number ≥ 0"),
        ("top_p", "1.5", "Top-p (0–1): '1.5' is not a number from 0 to 1"),
        ("top_k", "2.5", "Top-k: '2.5' is not a whole number ≥ 1"),
        ("max_new_tokens", "0", "Max new tokens: '0' is not a whole number ≥ 1"),
        ("seed", "-1", "Seed: '-1' is not a whole number ≥ 0"),
        ("temperature", "nan", "Temperature (0 = greedy): 'nan' is not a number ≥ 0"),
    ]:
        form = form_from(ChatSettings(None, base))
        form[field] = text
        assert parse_form(form, base) == expected
