"""Follow-up questions built from the candidate's own answer: the most valuable next question, asked as an
interviewer would, quoting or naming what the candidate said.

For an answer with a clear gap, the gap an interviewer would probe first: an answer that describes instead of
tells, blame placed elsewhere, a story without a result, an impact claimed without a number, "we" and no "I",
a key point the answer did not reach (tied to something it named), hedging, then the weakest criterion. For a
strong answer, a deeper probe of what it said: the hardest trade-off, what they would change, when the approach
would be wrong. Pure functions of the `Analysis`; no model.
"""

from __future__ import annotations

import re

from interviewmate.questions import Question
from interviewmate.rubric import CRITERIA
from interviewmate.scoring.analysis import Analysis
from interviewmate.scoring.text import Span

_CLAIM_RE = re.compile(
    r"\b(?:improv|reduc|increas|grew|boost|sped|faster|slower|fewer|saved|lower|higher|successful|efficien)\w*",
    re.IGNORECASE,
)
_WORD_NUMBER_RE = re.compile(r"^[a-z]+$", re.IGNORECASE)  # "two", "half": a number word without a unit
_CLAUSE_RE = re.compile(r"[,;:()]|\s[-\u2013\u2014]\s")
_ASKS_FOR_A_STORY = re.compile(
    r"\b(?:tell me about (?:a|an|the) (?:time|situation|moment|project|decision|mistake|failure|conflict)|"
    r"describe (?:a|an) (?:time|situation)|give (?:me )?an example|walk me through (?:a|an) (?:time|situation)|"
    r"have you ever|a time (?:you|when))",
    re.IGNORECASE,
)
_CLAUSE_SLACK = 3  # words a quote may grow by to reach the end (or start) of its clause
STRONG = 8  # from this score on, probe deeper instead of probing a gap


def quote(text: str, max_words: int = 12) -> str:
    """A phrase of the answer in quotes: whole words, at most `max_words`, an ellipsis when cut."""
    words = " ".join(text.split()).rstrip(".!?;,").split()
    clipped = " ".join(words[:max_words])
    cut = len(words) > max_words and not clipped.endswith("\u2026")
    return "\u201c" + clipped + ("\u2026" if cut else "") + "\u201d"


def phrase_around(span: Span, a: Analysis, width: int = 4) -> str:
    """The clause of the answer around `span` (cut at commas, semicolons, colons and dashes), at most `width`
    words either side: a quote is a phrase as written ("cut p95 to 250 ms"), never a bare token ("250")."""
    sentence = next((s for s in a.sentences if s.start <= span.start < s.end), None)
    if sentence is None:
        return span.text
    at, end_at = span.start - sentence.start, span.end - sentence.start
    start = max((m.end() for m in _CLAUSE_RE.finditer(sentence.text, 0, at)), default=0)
    stop = next((m.start() for m in _CLAUSE_RE.finditer(sentence.text, end_at)), len(sentence.text))
    clause = sentence.text[start:stop]
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", clause)]
    if not words:
        return span.text
    first = max(0, next((i for i, (b, e) in enumerate(words) if e > at), 0) - width)
    last = min(len(words) - 1, next((i for i, (b, e) in enumerate(words) if e >= end_at), len(words) - 1) + width)
    first = 0 if first <= _CLAUSE_SLACK else first  # a few more words finish the phrase: take them
    last = len(words) - 1 if len(words) - 1 - last <= _CLAUSE_SLACK else last
    text = sentence.text[words[first][0] : words[last][1]].strip(" ,;:.")
    # a phrase cut inside its clause says so, rather than reading as if the candidate stopped mid-sentence
    return ("\u2026" if first > 0 else "") + text + ("\u2026" if last < len(words) - 1 else "")


def named_detail_of(span: Span, a: Analysis) -> str | None:
    """A tool or name (3+ characters), or a number with its unit, as a short phrase; None for bare number words."""
    if span.label == "tool":
        return phrase_around(span, a, 3) if len(span.text) >= 3 else None
    if _WORD_NUMBER_RE.match(span.text) or len(span.text) < 2:
        return None
    return phrase_around(span, a, 3)


def named_detail(a: Analysis) -> str | None:
    """A concrete thing the candidate named, as a short phrase: a tool or name first, then a number with its unit."""
    for span in a.tools + a.numbers:
        if found := named_detail_of(span, a):
            return found
    return None


_IRREGULAR_BASE = {"does": "do", "has": "have", "is": "be", "goes": "go", "focuses": "focus", "biases": "bias"}
_NOT_VERBS = frozenset("usually always often its this thus less across various series process analysis".split())
# what an answer does (key points are written this way: "names the trade-off", "gives a measurable outcome");
# other leading verbs state a fact about the subject ("costs storage"), and the point is quoted instead
_ANSWER_ACTIONS = frozenset(
    "names explains describes gives acknowledges brings takes shows mentions uses reflects states proposes compares "
    "defines identifies quantifies distinguishes considers covers includes notes weighs lists asks sets chooses "
    "admits owns checks measures communicates tailors links ties connects suggests addresses separates sizes "
    "estimates tests validates avoids handles balances prioritises prioritizes plans recommends offers frames "
    "picks keeps involves escalates documents "
    # behaviours named in the bank's key points ("accounts for local liquidity", "follows up one to one")
    "makes raises reports seeks learns adds says confirms finds follows stays starts listens creates agrees treats "
    "converts talks grounds prepares coaches applies acts builds tells notices protects accounts fixes respects "
    "backs supports adjusts adapts looks captures changes diagnoses tracks delivers breaks clarifies responds "
    "verifies remedies decomposes secures disagrees writes presents commits maps focuses rehearses ships holds "
    "manages combines shares translates runs anchors corrects delegates moves puts assigns mitigates flags leads "
    "draws strengthens declares informs advocates turns uncovers splits resolves reserves resists reconciles aligns "
    "redirects invites pairs recruits conveys spots refuses reads provides investigates tries equips schedules "
    "consults helps maintains normalises incorporates rebuilds computes discloses cites hands lays resets "
    "salvages reviews".split()
)
_SECOND_PERSON = {"their": "your", "they": "you", "them": "you", "themselves": "yourself", "theirs": "yours"}


def _base_form(word: str) -> str | None:
    """A third-person verb's base form ("names" -> "name", "applies" -> "apply"); None if it does not look like
    one."""
    w = word.lower()
    if w in _IRREGULAR_BASE:
        return _IRREGULAR_BASE[w]
    if w in _NOT_VERBS or not re.fullmatch(r"[a-z]{3,}s", w) or w.endswith(("ss", "us", "is")):
        return None
    if w.endswith("ies"):
        return w[:-3] + "y"
    if re.search(r"(?:ss|sh|ch|x|zz)es$", w):  # "addresses" -> "address"; but "uses" -> "use"
        return w[:-2]
    return w[:-1]


def key_point_question(key_point: str) -> str:
    """A key point written as what an answer does ("takes ownership and declares an incident") asked as a
    question ("Could you also take ownership and declare an incident?")."""
    text = key_point.strip().rstrip(".")
    words = text.split()
    base = _base_form(words[0]) if words and words[0].lower() in _ANSWER_ACTIONS else None
    if base is None:
        return f"Could you also address this point: \u201c{text}\u201d?"
    out = [base]
    for prev, word in zip(words, words[1:], strict=False):
        after_and = prev.lower() in ("and", "or") and (b := _base_form(word)) is not None
        out.append(b if after_and else _SECOND_PERSON.get(word.lower(), word))  # asked of the candidate
    return "Could you also " + " ".join(out) + "?"


def _first(spans: list[Span]) -> Span | None:
    return spans[0] if spans else None


def follow_up(question: Question, answer: str, a: Analysis, criteria: dict[str, int] | None = None,
              score: int | None = None) -> str:  # fmt: skip
    """The next question for this answer. Every branch quotes or names what the candidate said."""
    story = question.is_story
    told = story and _ASKS_FOR_A_STORY.search(question.text) is not None
    if a.described or (a.echoes and a.content_sentences == 0):
        said = _first(a.described) or a.echoes[0]
        return (
            f"You said {quote(said.text)}. Rather than describe it, can you give me the actual example: "
            "what happened, and what did you do?"
        )
    if a.deflections:
        span = a.deflections[0]
        return (
            f"You said {quote(phrase_around(span, a, 5))}. Setting that aside, what was your own part, and what "
            "would you do differently?"
        )
    if score is not None and score >= STRONG:
        return _deeper(question, a, story)
    if story and told and "result" in a.star_missing:
        acted = _first(a.owned_actions) or _first(a.star.get("action", [])) or _first(a.sentences)
        if acted is not None:
            said = quote(phrase_around(acted, a, 6), 10)
            return f"You mentioned {said}. What was the outcome, and how did you measure it?"
    if story:
        for s in a.sentences:
            if _CLAIM_RE.search(s.text) and not any(s.start <= n.start < s.end for n in a.numbers):
                return f"You said {quote(s.text)}. By how much, and how did you know?"
        if a.we_count > 2 * max(1, a.i_count):
            we = next((s for s in a.sentences if re.search(r"\bwe\b", s.text, re.IGNORECASE)), None)
            if we is not None:
                return f"You said {quote(we.text, 10)}. What was your own part in that, specifically?"
    if a.key_points_missing:
        ask = key_point_question(a.key_points_missing[0])
        named = named_detail(a)
        if named:
            return f"You mentioned {quote(named, 8)}. {ask}"
        opener = _first(a.sentences)
        if opener is not None:
            return f"You started with {quote(opener.text, 10)}. {ask}"
    if a.hedge_count >= 2:
        hedged = next(
            (s for s in a.sentences if re.search(r"\b(?:think|guess|maybe|probably|not sure)\b", s.text, re.I)), None
        )
        if hedged is not None:
            return f"You said {quote(hedged.text, 10)}. How confident are you in that, and how would you check it?"
    if not story and a.sentences:
        return f"You said {quote(a.sentences[0].text, 10)}. How does that work under the hood, step by step?"
    weakest = min(CRITERIA, key=lambda c: ((criteria or {}).get(c, 5), CRITERIA.index(c)))
    anchor = quote(named_detail(a) or (a.sentences[-1].text if a.sentences else answer), 8)
    by_criterion = {
        "relevance": f"You mentioned {anchor}. Coming back to the question: how does that answer it directly?",
        "structure": f"You mentioned {anchor}. Could you take me through it in order: the problem, what you did, "
        "and what happened?",
        "specificity": f"You mentioned {anchor}. Can you give me one concrete example, with names or numbers?",
        "communication": f"You mentioned {anchor}. If you had to sum it up in two sentences for a busy manager, "
        "what would you say?",
    }
    return by_criterion[weakest]


def _deeper(question: Question, a: Analysis, story: bool) -> str:
    """A probe beyond a strong answer, anchored on what it said: the hardest call in a story, the fallback in a
    plan, the limits of a technical choice."""
    acted = _first(a.owned_actions) or _first(a.star.get("action", []))
    if story and acted is not None and _ASKS_FOR_A_STORY.search(question.text):
        return (
            f"You said {quote(phrase_around(acted, a, 6), 10)}. What was the hardest call in that, and what "
            "would you do differently next time?"
        )
    first = _first(a.sentences)
    if story and first is not None:
        if question.category == "situational":
            return f"You said {quote(first.text, 10)}. What would you do if that did not work?"
        return f"You said {quote(first.text, 10)}. Can you give me a specific example of that from your work?"
    named = named_detail(a)
    if named:
        return f"You mentioned {quote(named, 8)}. When would that be the wrong choice, and what would you use instead?"
    return f"You said {quote(first.text if first else question.text, 10)}. What is the main trade-off there?"
