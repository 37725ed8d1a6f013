"""The chat template and the strict feedback parser."""

from hypothesis import given, settings
from hypothesis import strategies as st

from interviewmate.prompts import CRITERIA, coach_messages, format_feedback, parse_feedback

GOOD = format_feedback(
    7,
    dict(relevance=4, structure=3, specificity=3, communication=4),
    'You say "we shipped it" but not what you did.',
    "What did you own?",
    "I led the rollout.",
)


def test_round_trip():
    parsed = parse_feedback(GOOD)
    assert parsed.scored and parsed.reason is None
    assert parsed.score == 7
    assert parsed.criteria == dict(relevance=4, structure=3, specificity=3, communication=4)
    assert parsed.feedback.startswith("You say")
    assert parsed.follow_up == "What did you own?"
    assert parsed.stronger_answer == "I led the rollout."


def test_truncated_stronger_answer_keeps_score():
    parsed = parse_feedback(GOOD.rsplit(" ", 2)[0])
    assert parsed.scored and parsed.score == 7


def test_wrapped_feedback_lines_are_joined():
    text = GOOD.replace("but not", "\nbut not")
    assert parse_feedback(text).feedback == 'You say "we shipped it" but not what you did.'


def test_unscored_cases_give_reasons():
    cases = {
        "": "empty",
        "Great answer! 9/10": "no overall score",
        GOOD.replace("Score: 7/10", "Score: 11/10"): "outside 1-10",
        GOOD.replace("Score: 7/10", "Score: 7/10\nScore: 8/10"): "2 overall score lines",
        GOOD.replace("Structure: 3/5\n", ""): "'structure' appears 0 times",
        GOOD.replace("Relevance: 4/5", "Relevance: 9/5"): "outside 1-5",
        GOOD.replace("Score: 7/10", "Score: seven/10"): "no overall score",
        GOOD.replace("Score: 7/10", "Score: 7.5/10"): "no overall score",
    }
    for text, reason in cases.items():
        parsed = parse_feedback(text)
        assert not parsed.scored and parsed.score is None, text
        assert reason in parsed.reason, (parsed.reason, reason)


def test_non_string_input():
    for value in (None, 7, b"Score: 7/10", ["Score: 7/10"]):
        parsed = parse_feedback(value)
        assert not parsed.scored and "not text" in parsed.reason


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_parser_never_raises_on_any_text(text):
    parsed = parse_feedback(text)
    assert parsed.scored in (True, False)
    if parsed.scored:
        assert 1 <= parsed.score <= 10 and set(parsed.criteria) == set(CRITERIA)
    else:
        assert parsed.reason


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(GOOD.splitlines() + ["", "Score:", "Score: 10/10", "junk: 3/5", "\x00", "Feedback:"]),
        max_size=14,
    )
)
def test_parser_on_shuffled_fragments(lines):
    parsed = parse_feedback("\n".join(lines))
    if parsed.scored:
        assert sum(line.startswith("Score:") and "/10" in line for line in lines) == 1


def test_chat_template_prompt_is_prefix_and_ends_on_newline(tiny_llama):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    messages = coach_messages("Why here?", "Because.")
    prompt = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    full = tok.apply_chat_template(messages + [{"role": "assistant", "content": GOOD}], tokenize=False)
    assert prompt.endswith("<|assistant|>\n")
    assert full.startswith(prompt)
    assert full[len(prompt) :].startswith("Score: 7/10")
    ids_prompt = tok(prompt, add_special_tokens=False)["input_ids"]
    ids_full = tok(full, add_special_tokens=False)["input_ids"]
    assert ids_full[: len(ids_prompt)] == ids_prompt  # the boundary is a token boundary
