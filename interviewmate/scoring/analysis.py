"""Evidence about one answer to one `Question`: what it says (similarity to the question, the ideal answer and
the key points, and the ideal answer's words it states) and how it says it (STAR parts, numbers, named tools,
owned actions, reflection, fillers, hedges, deflections).

Sentences addressed to the grader are removed first. Sentences that only echo the question or restate a key
point, and sentences that describe an answer instead of giving one, stay in the evidence (the feedback quotes
them) but earn no content. Spans index into the answer exactly as the user wrote it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from interviewmate.questions import FOLLOW_UP, Question
from interviewmate.rubric import STAR_PARTS, category_label
from interviewmate.scoring import text as T
from interviewmate.scoring.embed import get_embedder, reference
from interviewmate.scoring.text import Span, content_words, split_sentences

# advised spoken length (words) per category: advice shown to the user, never a score input
LENGTH_ADVICE: dict[str, tuple[int, int]] = {
    "behavioral": (120, 300),
    "situational": (100, 300),
    "leadership": (120, 300),
    "values": (100, 250),
    "general": (60, 250),
    "technical": (40, 250),
    "data_ml": (40, 250),
    "system_design": (80, 350),
    "product": (60, 300),
    "analytical": (50, 250),
}
KP_THRESHOLD = 0.45  # cosine above which a key point counts as covered (the scorer file holds the fitted value)
# a sentence echoes the question when it is this close to it and mostly reuses its words (fixed, not fitted)
ECHO_COSINE, ECHO_OVERLAP = 0.75, 0.6
# a first-person sentence restates a key point ("I named the trade-off") when it paraphrases it this closely and
# adds no concrete detail; knowledge answers that state a key point's substance in their own words are not claims
RESTATE_COSINE = 0.70
_CLAIM_FRAME_RE = re.compile(r"^\W*(?:I|we|my (?:answer|approach|story))\b", re.IGNORECASE)


@dataclass
class Analysis:
    """Everything the scorer and the feedback know about one answer."""

    word_count: int
    sentences: list[Span]
    injections: list[Span]  # grader-directed sentences, removed before anything else
    echoes: list[Span]  # sentences that echo the question or restate a key point: no content credit
    described: list[Span]  # sentences that describe an answer instead of giving one: no content credit
    abstract: list[Span]  # sentences of placeholders ("a significant challenge", "key stakeholders")
    # how it is said
    star: dict[str, list[Span]]
    star_missing: list[str]
    reflection: list[Span]
    numbers: list[Span]
    tools: list[Span]
    details: list[str]  # distinct concrete details: numbers, named tools, names of people, products, places
    action_verbs: list[Span]
    owned_actions: list[Span]
    i_count: int
    we_count: int
    fillers: dict[str, int]
    hedges: dict[str, int]
    deflections: list[Span]
    vague_count: int
    generic_count: int
    length_range: tuple[int, int] | None  # advice; None for follow-up answers
    length_verdict: str  # "short" | "ok" | "long" | "n/a"
    length_reason: str
    # what it says
    relevance: float  # cosine(answer, question)
    ideal_similarity: float | None  # cosine(answer, ideal answer); None without an ideal answer
    ideal_coverage: float | None  # mean over ideal sentences of the best-matching answer sentence
    substance_recall: float | None  # share of the ideal answer's own words (not the question's) the answer states
    substance_precision: float | None  # share of the answer's own words that are the ideal answer's
    key_point_scores: list[float]  # per key point: best sentence cosine
    key_point_words: list[float]  # per key point: share of its own words the answer states
    key_points_covered: list[str]
    key_points_missing: list[str]
    question_contrast: float | None = None  # relevance minus the best cosine to another bank question
    ideal_contrast: float | None = None  # ideal similarity minus the best cosine to another ideal answer
    content_sentences: int = 0
    sentence_vectors: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def filler_count(self) -> int:
        return sum(self.fillers.values())

    @property
    def hedge_count(self) -> int:
        return sum(self.hedges.values())

    def to_dict(self) -> dict:
        """JSON-ready evidence (spans as dicts; embeddings left out)."""
        vectors, self.sentence_vectors = self.sentence_vectors, None
        try:
            return asdict(self)
        finally:
            self.sentence_vectors = vectors


def _spans(regex: re.Pattern, text: str, label: str, base: int = 0) -> list[Span]:
    return [Span(base + m.start(), base + m.end(), m.group(0), label) for m in regex.finditer(text)]


def _counts(regex: re.Pattern, text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in regex.finditer(text):
        key = " ".join(m.group(0).lower().rstrip(",").split())
        out[key] = out.get(key, 0) + 1
    return out


def _dedupe(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for s in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if not out or s.start >= out[-1].end:
            out.append(s)
    return out


def length_advice(word_count: int, question: Question) -> tuple[tuple[int, int] | None, str, str]:
    """Advice on spoken length for a main question; follow-up answers get none (they are short by nature)."""
    if question.kind == FOLLOW_UP:
        return None, "n/a", f"{word_count} words"
    lo, hi = LENGTH_ADVICE.get(question.category, (60, 250))
    spoken = f"about {round(word_count / 150 * 60)} s spoken"
    label = category_label(question.category).lower()
    if word_count < lo:
        return (lo, hi), "short", f"{word_count} words ({spoken}); {label} answers usually take {lo}-{hi} words"
    if word_count > hi:
        return (lo, hi), "long", f"{word_count} words ({spoken}); past {hi} words a listener loses the thread"
    return (lo, hi), "ok", f"{word_count} words ({spoken}), within the usual {lo}-{hi} for {label} answers"


def _overlap(words: set[str], of: set[str]) -> float:
    return len(words & of) / len(words) if words else 0.0


def _concrete(s: Span) -> bool:
    """A sentence with a checkable detail: a number, a named tool or a proper noun past the first word."""
    return bool(T._NUMBER_RE.search(s.text) or T._TOOL_RE.search(s.text) or re.search(r"\s[A-Z][a-z]+", s.text))


def analyze(answer: str, question: Question, kp_threshold: float = KP_THRESHOLD, bank=None) -> Analysis:
    """All evidence about `answer`. `bank` (a `ReferenceBank`) adds the question-relative contrast."""
    answer = answer or ""
    key_points = tuple(k for k in question.key_points if k and k.strip())
    injections = T.injection_spans(answer)
    inj = [(s.start, s.end) for s in injections]
    sentences = [s for s in split_sentences(answer) if not any(a <= s.start < b for a, b in inj)]

    star: dict[str, list[Span]] = {p: [] for p in STAR_PARTS}
    reflection, deflections, numbers, tools, verbs, owned, described, abstract = [], [], [], [], [], [], [], []
    fillers: dict[str, int] = {}
    hedges: dict[str, int] = {}
    i_count = we_count = vague = generic = 0
    for s in sentences:
        for part in ("situation", "task", "result"):
            if T._STAR_RE[part].search(s.text):
                star[part].append(Span(s.start, s.end, s.text, part))
        own = _spans(T._OWNED_RE, s.text, "owned_action", s.start)
        owned += own
        if own or re.match(r"\s*(?:so |then |first,? |after that,? )?I\s+\w+ed\b", s.text, re.IGNORECASE):
            star["action"].append(Span(s.start, s.end, s.text, "action"))
        if T._REFLECT_RE.search(s.text):
            reflection.append(Span(s.start, s.end, s.text, "reflection"))
        if T.DESCRIBED_RE.search(s.text):
            described.append(Span(s.start, s.end, s.text, "described"))
        if T.abstract(s.text):
            abstract.append(Span(s.start, s.end, s.text, "abstract"))
        numbers += _spans(T._NUMBER_RE, s.text, "number", s.start)
        tools += _spans(T._TOOL_RE, s.text, "tool", s.start)
        tools += [x for x in _spans(T._ACRONYM_RE, s.text, "tool", s.start) if x.text not in T._NOT_ACRONYM]
        verbs += _spans(T._VERB_RE, s.text, "action_verb", s.start)
        deflections += _spans(T._DEFLECT_RE, s.text, "deflection", s.start)
        for k, v in _counts(T._FILLER_RE, s.text).items():
            fillers[k] = fillers.get(k, 0) + v
        for k, v in _counts(T._HEDGE_RE, s.text).items():
            hedges[k] = hedges.get(k, 0) + v
        i_count += len(T._I_RE.findall(s.text))
        we_count += len(T._WE_RE.findall(s.text))
        vague += len(T._VAGUE_RE.findall(s.text))
        generic += len(T._GENERIC_RE.findall(s.text))
    clean = " ".join(s.text for s in sentences)
    details = sorted(
        {x.text.lower() for x in numbers + tools} | {w.lower() for s in sentences for w in T.proper_nouns(s.text)}
    )
    n_words = len(T._PURE_FILLER_RE.sub(" ", clean).split())
    length_range, verdict, reason = length_advice(n_words, question)

    ref = reference(question.text, question.ideal_answer, key_points)
    texts = [" ".join(T._PURE_FILLER_RE.sub(" ", s.text).split()) for s in sentences]
    keep = [i for i, t in enumerate(texts) if re.search(r"[A-Za-z0-9]", t)]
    vecs = get_embedder().encode([texts[i] for i in keep]) if keep else np.zeros((0, get_embedder().dim), np.float32)
    q_words = set(content_words(question.text))
    kp_words = [set(content_words(k)) - q_words for k in key_points]
    # echoes and restated key points: close paraphrases of what the candidate was given, with nothing added
    echoes: list[Span] = []
    content_rows: list[int] = []
    described_starts = {s.start for s in described}
    for row, i in enumerate(keep):
        s, v = sentences[i], vecs[row]
        words = set(content_words(s.text))
        echo = (
            ref.question is not None
            and float(v @ ref.question) >= ECHO_COSINE
            and _overlap(words, q_words) >= (ECHO_OVERLAP)
        )
        restated = (
            ref.key_points is not None
            and _CLAIM_FRAME_RE.match(s.text) is not None
            and float((ref.key_points @ v).max()) >= RESTATE_COSINE
            and not _concrete(s)
        )
        if echo or restated:
            echoes.append(Span(s.start, s.end, s.text, "echo" if echo else "restated_key_point"))
        elif s.start not in described_starts:
            content_rows.append(row)
    cvecs = vecs[content_rows]
    content_text = " ".join(sentences[keep[r]].text for r in content_rows)
    whole = None
    if len(cvecs):
        mean = cvecs.mean(0)
        whole = mean / max(1e-9, float(np.linalg.norm(mean)))
    relevance = float(whole @ ref.question) if whole is not None and ref.question is not None else 0.0
    ideal_sim = ideal_cov = recall = precision = None
    if ref.ideal is not None:
        ideal_sim = float(whole @ ref.ideal.whole) if whole is not None else 0.0
        ideal_cov = float((cvecs @ ref.ideal.sentences.T).max(0).mean()) if len(cvecs) else 0.0
        substance = set(content_words(question.ideal_answer)) - q_words
        mine = set(content_words(content_text)) - q_words
        recall = len(mine & substance) / len(substance) if substance else 0.0
        precision = len(mine & substance) / len(mine) if mine else 0.0
    kp_scores: list[float] = []
    kp_lex: list[float] = []
    if ref.key_points is not None:
        kp_scores = [float(x) for x in (cvecs @ ref.key_points.T).max(0)] if len(cvecs) else [0.0] * len(key_points)
        mine_all = set(content_words(content_text))
        kp_lex = [_overlap(w, mine_all) if w else 0.0 for w in kp_words]
    covered = [k for k, s in zip(key_points, kp_scores, strict=False) if s >= kp_threshold]
    q_contrast = i_contrast = None
    if bank is not None and whole is not None:
        other_ideal, other_q = bank.best_other(whole, ref.question, ref.ideal.whole if ref.ideal else None)
        q_contrast = relevance - other_q
        i_contrast = (ideal_sim - other_ideal) if ideal_sim is not None else None
    story = question.is_story
    star_missing = [p for p in STAR_PARTS if not star[p]] if story else []
    return Analysis(
        word_count=n_words,
        sentences=sentences,
        injections=injections,
        echoes=echoes,
        described=described,
        abstract=abstract,
        star=star,
        star_missing=star_missing,
        reflection=reflection,
        numbers=_dedupe(numbers),
        tools=_dedupe(tools),
        details=details,
        action_verbs=_dedupe(verbs),
        owned_actions=_dedupe(owned),
        i_count=i_count,
        we_count=we_count,
        fillers=fillers,
        hedges=hedges,
        deflections=deflections,
        vague_count=vague,
        generic_count=generic,
        length_range=length_range,
        length_verdict=verdict,
        length_reason=reason,
        relevance=relevance,
        ideal_similarity=ideal_sim,
        ideal_coverage=ideal_cov,
        substance_recall=recall,
        substance_precision=precision,
        key_point_scores=kp_scores,
        key_point_words=kp_lex,
        key_points_covered=covered,
        key_points_missing=[k for k in key_points if k not in covered],
        question_contrast=q_contrast,
        ideal_contrast=i_contrast,
        content_sentences=len(content_rows),
        sentence_vectors=cvecs,
    )
