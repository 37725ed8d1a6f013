"""The `Coach` interface and its engines: rubric (offline, default), local LLM (base + adapter), remote (OpenAI API).

What it is: turning (question, answer) into a `Grade` — score, criteria, feedback grounded in the answer's own
words, a follow-up question and the ideal answer — with the same abstention rules for every engine, and LLM
scores parsed strictly and checked against the calibrated rubric scorer.
What it is not: UI code (no gradio here), interview planning (`interview.py`) or feature extraction
(`scoring.py`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from interviewmate import modeling
from interviewmate.prompts import CRITERIA, coach_messages, parse_feedback
from interviewmate.scoring import (
    STORY_CATEGORIES,
    Analysis,
    Scorer,
    abstain_reason,
    asdict_with_analysis,
    get_embedder,
    split_sentences,
)

logger = logging.getLogger(__name__)

DISAGREEMENT_MARGIN = 2  # points on the 1-10 scale before an LLM/rubric difference is shown to the user
ENGINES = ("rubric", "local", "remote")


@dataclass
class QuestionItem:
    """One interview question with what graders know about it (empty fields for custom questions)."""

    question_id: str
    question: str
    category: str = "general"
    role: str = "general"
    difficulty: str = "medium"
    ideal_answer: str = ""
    key_points: list[str] = field(default_factory=list)
    reference_answers: list[dict] = field(default_factory=list)  # {"answer", "score", "follow_up"}


def question_bank(rows: list[dict]) -> list[QuestionItem]:
    """Dataset rows -> one `QuestionItem` per question (in file order), with its graded answers as references."""
    items: dict[str, QuestionItem] = {}
    for r in rows:
        item = items.get(r["question_id"])
        if item is None:
            item = items[r["question_id"]] = QuestionItem(
                question_id=r["question_id"], question=r["question"], category=r["category"], role=r["role"],
                difficulty=r["difficulty"], ideal_answer=r["ideal_answer"], key_points=list(r["key_points"]),
            )  # fmt: skip
        item.reference_answers.append({"answer": r["answer"], "score": r["score"], "follow_up": r["follow_up"]})
    return list(items.values())


@dataclass
class Grade:
    """The result of grading one answer. `scored=False` carries a reason and guidance, never a made-up number."""

    scored: bool
    reason: str | None = None
    score: int | None = None
    criteria: dict[str, int] = field(default_factory=dict)
    feedback: str = ""
    strengths: list[str] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)
    follow_up: str = ""
    ideal_answer: str = ""
    analysis: Analysis | None = None
    engine: str = ""
    rubric_score: int | None = None  # the calibrated scorer's score when the engine is an LLM
    disagreement: str | None = None
    latency_s: float = 0.0
    band: tuple[int, int] | None = None  # likely range of the score (rubric engine)

    def to_dict(self) -> dict:
        """JSON-serialisable (the analysis becomes plain dicts; embeddings are left out)."""
        return asdict_with_analysis(self)


class Coach:
    """Grades answers. Engines implement `grade_stream`; `grade` drains it and returns the final `Grade`."""

    name = "coach"

    def grade_stream(
        self, question: QuestionItem, answer: str, stop_event: threading.Event | None = None
    ) -> Iterator[str | Grade]:
        """Yield text pieces as they are generated, then exactly one final `Grade`."""
        raise NotImplementedError

    def grade(self, question: QuestionItem, answer: str) -> Grade:
        final = None
        for item in self.grade_stream(question, answer):
            if isinstance(item, Grade):
                final = item
        if final is None:  # an engine bug, not a user error
            raise RuntimeError(f"{type(self).__name__}.grade_stream ended without a Grade")
        return final


def _unscored(reason: str, engine: str, question: QuestionItem, t0: float, feedback: str = "") -> Grade:
    guidance = feedback or (
        f"{reason} Answer the question in English in a few sentences: what the situation was, what you did, "
        "and what happened as a result. If you do not know, say what you would try first and why."
    )
    return Grade(scored=False, reason=reason, feedback=guidance, ideal_answer=question.ideal_answer, engine=engine,
                 latency_s=time.perf_counter() - t0)  # fmt: skip


# ---------------------------------------------------------------- rubric engine

SUGGESTIONS = {
    "relevance": "Answer the exact question in your first sentence, then support it; cut parts that do not serve it.",
    "structure": "Use one clear arc: the situation in a sentence, your task, what you did, and the result.",
    "specificity": "Add one concrete detail an interviewer could check: a number, a tool, a name or a date.",
    "communication": "Say it plainly: drop hedges and fillers and keep sentences short.",
}
STAR_FOLLOW_UPS = {
    "situation": "Can you set the scene: where was this, and what was at stake?",
    "task": "What exactly were you responsible for in that situation?",
    "action": "What did you personally do, step by step?",
    "result": "What was the outcome, and how did you measure it?",
}
CRITERION_FOLLOW_UPS = {
    "relevance": "Coming back to the question itself: what is your direct answer?",
    "structure": "Could you walk me through it in order, from the problem to the outcome?",
    "specificity": "Can you give me a concrete example with numbers or names?",
    "communication": "If you had to summarise that in two sentences, what would you say?",
}


def _weakest(crit: dict[str, int]) -> str:
    """The lowest-scored criterion (ties go to the one listed first)."""
    return min(CRITERIA, key=lambda c: (crit[c], CRITERIA.index(c)))


def _quote(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "\u2026"
    return "\u201c" + text + "\u201d"


class RubricCoach(Coach):
    """The default engine: the calibrated scorer plus feedback built only from evidence in the answer."""

    name = "rubric"

    def __init__(self, scorer: Scorer | None = None):
        self.scorer = scorer or Scorer.load()

    def grade_stream(
        self, question: QuestionItem, answer: str, stop_event: threading.Event | None = None
    ) -> Iterator[str | Grade]:
        yield self.grade(question, answer)

    def grade(self, question: QuestionItem, answer: str) -> Grade:
        t0 = time.perf_counter()
        res = self.scorer.score(answer, question.question, question.category, question.key_points,
                                question.ideal_answer)  # fmt: skip
        if not res.scored:
            return _unscored(res.reason or "Not scored.", self.name, question, t0)
        a = res.analysis
        strengths = self._strengths(a, res.criteria, question)
        improvements = self._improvements(a, res.criteria, question, res.flags)
        lines = []  # the score, its band and the criteria are shown by the UI from the Grade's fields
        if strengths:
            lines += ["**What worked**"] + [f"- {s}" for s in strengths] + [""]
        if improvements:
            lines += ["**What to improve**"] + [f"- {s}" for s in improvements] + [""]
        if question.ideal_answer:
            lines.append("Press *Show ideal answer* to compare with a strong answer.")
        return Grade(
            scored=True, score=res.score, criteria=dict(res.criteria), feedback="\n".join(lines), strengths=strengths,
            improvements=improvements, follow_up=self.follow_up(question, answer, a, res.criteria),
            ideal_answer=question.ideal_answer, analysis=a, engine=self.name, band=res.band,
            latency_s=time.perf_counter() - t0,
        )  # fmt: skip

    @staticmethod
    def _strengths(a: Analysis, crit: dict[str, int], q: QuestionItem) -> list[str]:
        """Praise only what the answer shows, and only where that criterion scored 4 or 5."""
        out = []
        if crit["specificity"] >= 4 and (a.numbers or a.tools):
            shown = ", ".join(_quote(s.text, 40) for s in (a.numbers + a.tools)[:3])
            out.append(f"Specific: you name concrete details ({shown}).")
        if crit["structure"] >= 4 and a.star["result"]:
            out.append(f"You state a result: {_quote(a.star['result'][0].text)}.")
        if crit["relevance"] >= 4 and a.key_points_covered:
            out.append("You address: " + "; ".join(a.key_points_covered[:3]) + ".")
        if crit["communication"] >= 4 and a.owned_actions:
            out.append(f"You own your actions: {_quote(a.owned_actions[0].text, 60)}.")
        return out

    @staticmethod
    def _improvements(a: Analysis, crit: dict[str, int], q: QuestionItem, flags: list[str]) -> list[str]:
        out = []
        if "off_topic" in flags:
            out.append("This answer does not seem to address the question asked; re-read it and answer it directly.")
        if "injection_removed" in flags:
            out.append("Instructions addressed to the grader were ignored: " + _quote(a.injections[0].text, 80) + ".")
        if a.key_points_missing:
            out.append("Not covered yet: " + "; ".join(a.key_points_missing[:4]) + ".")
        if q.category in STORY_CATEGORIES and a.star_missing:
            out.append(f"Missing part(s) of the story: {', '.join(a.star_missing)}.")
        if not a.numbers and crit["specificity"] <= 3:
            out.append("No numbers: say how big, how fast or how much changed.")
        hedges = sorted(a.hedges.items(), key=lambda kv: -kv[1])[:3]
        if a.hedge_count >= 2:
            out.append("Hedging weakens it: " + ", ".join(f"{_quote(k)} \u00d7{v}" for k, v in hedges) + ".")
        if a.filler_count >= 3:
            fillers = sorted(a.fillers.items(), key=lambda kv: -kv[1])[:3]
            out.append("Cut fillers: " + ", ".join(f"{_quote(k)} \u00d7{v}" for k, v in fillers) + ".")
        if a.deflections:
            out.append(f"Own the outcome rather than deflect: {_quote(a.deflections[0].text, 60)}.")
        if a.we_count > 2 * max(1, a.i_count) and q.category in STORY_CATEGORIES:
            we_i = f"\u201cwe\u201d ({a.we_count}) and little \u201cI\u201d ({a.i_count})"
            out.append(f"Mostly {we_i}: say what you did.")
        if a.length_verdict != "ok":
            out.append(f"Length: {a.length_reason}.")
        weakest = _weakest(crit)
        if crit[weakest] <= 3:
            out.append(f"Weakest: {weakest} ({crit[weakest]}/5). {SUGGESTIONS[weakest]}")
        return out

    def follow_up(self, q: QuestionItem, answer: str, a: Analysis, crit: dict[str, int]) -> str:
        """The follow-up of the reference answer closest to this one; else one aimed at the biggest gap."""
        if q.reference_answers and a.sentence_vectors is not None and len(a.sentence_vectors):
            emb = get_embedder()
            mine = a.sentence_vectors.mean(0)
            mine /= max(1e-9, float(np.linalg.norm(mine)))
            sims = []
            for ref in q.reference_answers:
                parts = [s.text for s in split_sentences(ref["answer"])] or [ref["answer"]]
                sims.append(float(emb.segments(parts)[0] @ mine))
            return q.reference_answers[int(np.argmax(sims))]["follow_up"]
        if q.category in STORY_CATEGORIES and a.star_missing:
            return STAR_FOLLOW_UPS[a.star_missing[-1]]  # the result is the gap interviewers probe most
        return CRITERION_FOLLOW_UPS[_weakest(crit)]


# ---------------------------------------------------------------- LLM engines


def _llm_grade(
    text: str, question: QuestionItem, answer: str, engine: str, scorer: Scorer | None, t0: float, margin: int
) -> Grade:
    """Strictly parse an LLM reply into a Grade and check it against the rubric scorer."""
    parsed = parse_feedback(text)
    if not parsed.scored:
        return _unscored(f"Not scored: the model's reply could not be read ({parsed.reason}).", engine, question, t0,
                         feedback=parsed.feedback)  # fmt: skip
    rubric = analysis = None
    disagreement = None
    if scorer is not None:
        res = scorer.score(answer, question.question, question.category, question.key_points, question.ideal_answer)
        rubric, analysis = res.score, res.analysis
        if rubric is not None and abs(parsed.score - rubric) > margin:
            disagreement = (
                f"The coach model gave {parsed.score}/10 but the rubric scorer gives {rubric}/10. They differ by more "
                f"than {margin} points, so treat this score with care and read the feedback for the reasons."
            )
    return Grade(
        scored=True, score=parsed.score, criteria=dict(parsed.criteria), feedback=parsed.feedback,
        follow_up=parsed.follow_up, ideal_answer=question.ideal_answer or parsed.stronger_answer, analysis=analysis,
        engine=engine, rubric_score=rubric, disagreement=disagreement, latency_s=time.perf_counter() - t0,
    )  # fmt: skip


class LLMCoach(Coach):
    """What both LLM engines share: the same abstention rules first, the prompt from `prompts.py`, streamed
    generation (`_generate`, per engine), then strict parsing and the check against the rubric scorer."""

    scorer: Scorer | None = None
    margin: int = DISAGREEMENT_MARGIN

    def _generate(self, messages: list[dict], stop_event: threading.Event) -> Iterator[str]:
        raise NotImplementedError

    def grade_stream(
        self, question: QuestionItem, answer: str, stop_event: threading.Event | None = None
    ) -> Iterator[str | Grade]:
        t0 = time.perf_counter()
        if reason := abstain_reason(answer, question.question):
            yield _unscored(reason, self.name, question, t0)
            return
        messages = coach_messages(question.question, answer, question.role, question.category)
        pieces = []
        for piece in self._generate(messages, stop_event or threading.Event()):
            pieces.append(piece)
            yield piece
        yield _llm_grade("".join(pieces), question, answer, self.name, self.scorer, t0, self.margin)


class LocalLLMCoach(LLMCoach):
    """Base model + LoRA adapter on this machine, streamed; the reply is parsed strictly, never guessed."""

    name = "local"

    def __init__(self, tokenizer, model, scorer: Scorer | None = None, max_new_tokens: int = 512,
                 margin: int = DISAGREEMENT_MARGIN):  # fmt: skip
        self.tokenizer, self.model, self.scorer = tokenizer, model, scorer
        self.max_new_tokens, self.margin = max_new_tokens, margin

    @classmethod
    def from_pretrained(
        cls, base: str, adapter: str | None = None, quantization: str = "4bit", scorer: Scorer | None = None, **kw
    ) -> LocalLLMCoach:
        tokenizer, model = modeling.load_coach_model(base, adapter, quantization=quantization)
        return cls(tokenizer, model, scorer=scorer, **kw)

    def _generate(self, messages: list[dict], stop_event: threading.Event) -> Iterator[str]:
        yield from modeling.stream_generate(self.model, self.tokenizer, messages, self.max_new_tokens, stop_event)


class RemoteCoachError(RuntimeError):
    """The remote coach server could not be reached, timed out or refused the request."""


class RemoteCoach(LLMCoach):
    """The same prompts sent to an OpenAI-compatible server (e.g. vLLM serving the base with the adapter)."""

    name = "remote"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, scorer: Scorer | None = None,
                 timeout: float = 60.0, max_tokens: int = 512, margin: int = DISAGREEMENT_MARGIN):  # fmt: skip
        from openai import OpenAI

        self.base_url, self.model, self.scorer = base_url, model, scorer
        self.max_tokens, self.margin = max_tokens, margin
        # vLLM ignores the key unless started with --api-key; the client insists on one
        self.client = OpenAI(base_url=base_url, api_key=api_key or "EMPTY", timeout=timeout, max_retries=0)

    def _generate(self, messages: list[dict], stop_event: threading.Event) -> Iterator[str]:
        import openai

        try:
            stream = self.client.chat.completions.create(
                model=self.model, messages=messages, stream=True, temperature=0.0, max_tokens=self.max_tokens
            )
            try:
                for chunk in stream:
                    if stop_event.is_set():
                        break
                    delta = chunk.choices[0].delta.content if chunk.choices else None
                    if delta:
                        yield delta
            finally:
                stream.close()  # frees the server slot when the user cancels
        except openai.APITimeoutError as e:
            raise RemoteCoachError(f"the remote coach at {self.base_url} did not answer in time ({e})") from e
        except openai.APIConnectionError as e:
            raise RemoteCoachError(f"cannot connect to the remote coach at {self.base_url}: is the server running? "
                                   f"({e})") from e  # fmt: skip
        except openai.APIStatusError as e:
            raise RemoteCoachError(f"the remote coach at {self.base_url} refused the request for model "
                                   f"{self.model!r}: HTTP {e.status_code} {e.message}") from e  # fmt: skip


def make_coach(engine: str = "rubric", **options) -> Coach:
    """Build a coach by name. Options: scorer / scorer_path; base, adapter, quantization, max_new_tokens (local);
    remote_url (or base_url), remote_model (or model), api_key, timeout (remote)."""
    scorer = options.get("scorer")
    if scorer is None and (engine == "rubric" or options.get("check_with_rubric", True)):
        scorer = Scorer.load(options.get("scorer_path"))
    if engine == "rubric":
        return RubricCoach(scorer)
    if engine == "local":
        base = options.get("base") or options.get("base_model")
        if not base:
            raise ValueError("the local engine needs a base model (option 'base')")
        kw = {k: options[k] for k in ("max_new_tokens", "margin") if k in options}
        return LocalLLMCoach.from_pretrained(base, options.get("adapter"), options.get("quantization", "4bit"),
                                             scorer=scorer, **kw)  # fmt: skip
    if engine == "remote":
        url = options.get("remote_url") or options.get("base_url")
        model = options.get("remote_model") or options.get("model")
        if not url or not model:
            raise ValueError("the remote engine needs 'remote_url' and 'remote_model'")
        kw = {k: options[k] for k in ("timeout", "margin", "max_tokens") if k in options}
        return RemoteCoach(url, model, api_key=options.get("api_key"), scorer=scorer, **kw)
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
