"""Multiple-choice judges: the offline one executes canonical descriptions; the LLM one speaks
to a real SDK over loopback."""

from __future__ import annotations

import pytest

from evals.judge import LLMJudge, OfflineJudge, chance_choice, make_judge, multiple_choice_accuracy
from find_functions.spec import MultipleChoiceItem
from tests.fake_llm import FakeLLMServer, Reply

ITEM = MultipleChoiceItem(inputs=["abc", "dog", "sun"], outputs=["abc", "god", "sun"], correct=1)


def test_offline_judge_executes_a_canonical_string_description() -> None:
    assert OfflineJudge().choose("strings", "Reverse the string.", ITEM) == 1


def test_empty_description_is_a_deterministic_guess() -> None:
    guesses = {OfflineJudge().choose("strings", "", ITEM) for _ in range(3)}
    assert guesses == {chance_choice("", ITEM)}


def test_floor_is_about_chance_over_many_items() -> None:
    items = [MultipleChoiceItem(inputs=[f"a{i}", f"b{i}", f"c{i}"], outputs=["x", "y", "z"], correct=i % 3)
             for i in range(600)]
    assert 0.28 < multiple_choice_accuracy(OfflineJudge(), "strings", "", items) < 0.39


def test_llm_judge_over_the_real_openai_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLLMServer([Reply(text="2"), Reply(text="The answer is 3.")]) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        judge = make_judge("auto", backend="openai:gpt-4o-mini")
        assert isinstance(judge, LLMJudge)
        assert judge.choose("strings", "reverse the string", ITEM) == 1
        assert judge.choose("strings", "reverse the string", ITEM) == 2
        body = server.requests[0].body
        assert "reverse the string" in str(body["messages"]) and "tools" not in body


def test_auto_judge_is_offline_for_non_llm_backends() -> None:
    assert isinstance(make_judge("auto", backend="builtin"), OfflineJudge)
    with pytest.raises(ValueError, match="--judge 'gpt'"):
        make_judge("gpt")
