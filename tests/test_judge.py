"""Multiple-choice judges: the offline one executes canonical descriptions; the LLM one speaks
to a real SDK over loopback."""

from __future__ import annotations

import pytest

from evals.judge import LLMJudge, OfflineJudge, TallyingJudge, chance_choice, make_judge, multiple_choice_accuracy
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
    with FakeLLMServer([Reply(text="2"), Reply(text="The answer is 3."), Reply(text="I cannot tell.")]) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        judge = make_judge("openai:gpt-4o-mini")
        assert isinstance(judge, LLMJudge)
        assert judge.choose("strings", "reverse the string", ITEM) == 1
        assert judge.choose("strings", "reverse the string", ITEM) == 2
        assert judge.choose("strings", "reverse the string", ITEM) is None  # no choice named: not judged
        body = server.requests[0].body
        assert "reverse the string" in str(body["messages"]) and "tools" not in body


def test_a_judge_is_offline_or_named_never_the_backend_under_test() -> None:
    assert isinstance(make_judge("offline"), OfflineJudge)
    with pytest.raises(ValueError, match="--judge auto is gone: it let the LLM under test grade its own"):
        make_judge("auto")
    with pytest.raises(ValueError, match="unknown judge spec 'gpt'"):
        make_judge("gpt")


def test_a_description_the_offline_judge_cannot_execute_is_not_judged() -> None:
    """Free text is not guessed at (that scored capable models at chance): it is left out and counted."""
    judge = TallyingJudge(OfflineJudge())
    free_text = "It mirrors each word so that it reads from the end"
    assert judge.choose("strings", free_text, ITEM) is None
    assert multiple_choice_accuracy(judge, "strings", free_text, [ITEM, ITEM]) is None
    assert judge.unjudged == 3

    class Partly:
        """Judges (correctly) every item but ITEM."""
        name = "partly"

        def choose(self, category, description, item):
            return None if item is ITEM else item.correct

    other = MultipleChoiceItem(inputs=["x", "y", "z"], outputs=["x", "y", "z"], correct=2)
    assert multiple_choice_accuracy(Partly(), "strings", "d", [ITEM, other, ITEM]) == 1.0  # 1 of 1 judged
