"""The `Coach` interface and its engines: rubric (offline, default), local LLM (base + adapter), remote (OpenAI API).

What it is: turning (question, answer) into a typed `Grade` (score, criteria, content and delivery sub-scores,
feedback grounded in the answer's own words, a follow-up built from the answer, the ideal answer) with the
same abstention rules for every engine, and LLM scores parsed strictly and checked against the rubric scorer.
What it is not: UI code (no gradio here), interview planning (`interview.py`), feature extraction (`scoring`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields

from interviewmate import followups
from interviewmate.prompts import coach_messages, parse_feedback
from interviewmate.questions import Question
from interviewmate.rubric import CRITERIA, STAR_PARTS
from interviewmate.scoring import Analysis, Scorer, ScoreResult, abstain_reason

logger = logging.getLogger(__name__)

DISAGREEMENT_MARGIN = 2  # points on the 1-10 scale before an LLM/rubric difference is shown to the user
STRONGER_ANSWER = "Stronger answer:"  # the last section of the reply format (prompts.format_feedback)
REPETITION_PENALTY = 1.1  # guided mode: a small model's prose loops without it (seen with SmolLM2-135M)
ENGINES = ("rubric", "local", "remote")
ENGINE_LABELS = {"rubric": "Rubric coach (offline scorer)", "local": "Local model", "remote": "Remote model"}


# ---------------------------------------------------------------- configuration


@dataclass
class EngineConfig:
    """How to build a coach: one configuration for the app, the evaluation and `make_coach`.

    `base` is a Hub id or a local folder. With `quantization="auto"` the local engine loads the 4-bit nf4 base
    plus the adapter on a GPU, and on a CPU the fp32 base with the adapter merged (4-bit generation on a CPU
    runs at about 0.5 token/s; fp32 SmolLM2-135M at about 25).
    """

    engine: str = "rubric"
    base: str = "models/smollm2-135m-instruct"
    adapter: str | None = "adapters/smollm2-135m-interviewmate"
    quantization: str = "auto"  # auto | 4bit | 8bit | bf16 | fp32
    max_new_tokens: int = 400
    guided: bool = True  # local engine: guided grade header (modeling.GradeHeaderGuide); prose stays free
    remote_url: str | None = None
    remote_model: str = "interviewmate"
    api_key: str | None = None
    timeout_s: float = 60.0
    scorer_path: str | None = None
    margin: int = DISAGREEMENT_MARGIN

    @classmethod
    def from_env(cls, **overrides) -> EngineConfig:
        """Defaults < INTERVIEWMATE_<FIELD> environment variables < `overrides` (None values are ignored).
        "none" (any case) for the adapter means no adapter."""
        casts = {"max_new_tokens": int, "timeout_s": float, "margin": int,
                 "guided": lambda v: v.strip().lower() not in ("0", "false", "no", "off")}  # fmt: skip
        values: dict = {}
        for f in fields(cls):
            raw = os.environ.get("INTERVIEWMATE_" + f.name.upper())
            if raw is not None:
                try:
                    values[f.name] = casts.get(f.name, str)(raw)
                except ValueError as e:
                    raise ValueError(f"INTERVIEWMATE_{f.name.upper()}={raw!r} is not a valid {f.name}") from e
        values.update({k: v for k, v in overrides.items() if v is not None})
        if str(values.get("adapter", "")).lower() == "none":
            values["adapter"] = None
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.engine == "remote" and not self.remote_url:
            raise ValueError("the remote engine needs a server URL (--remote-url or INTERVIEWMATE_REMOTE_URL)")
        if not 16 <= int(self.max_new_tokens) <= 1024:
            raise ValueError(f"max_new_tokens must be between 16 and 1024, got {self.max_new_tokens}")

    def label(self) -> str:
        """What the user is told is grading them."""
        if self.engine == "local":
            name = os.path.basename(str(self.adapter or self.base).rstrip("/"))
            return f"{ENGINE_LABELS['local']} ({name})"
        if self.engine == "remote":
            return f"{ENGINE_LABELS['remote']} ({self.remote_model})"
        return ENGINE_LABELS["rubric"]


# ---------------------------------------------------------------- the result


@dataclass
class Evidence:
    """What the grade is based on, for display: quotes and counts from the answer (JSON-friendly)."""

    word_count: int = 0
    length_advice: str = ""
    star_found: dict[str, str] = field(default_factory=dict)  # part -> the sentence that shows it
    star_missing: list[str] = field(default_factory=list)
    fillers: dict[str, int] = field(default_factory=dict)
    hedges: dict[str, int] = field(default_factory=dict)
    i_count: int = 0
    we_count: int = 0
    key_points_covered: list[str] = field(default_factory=list)
    key_points_missing: list[str] = field(default_factory=list)
    not_counted: list[str] = field(default_factory=list)  # echoed, restated or described sentences
    injections: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, a: Analysis, question: Question) -> Evidence:
        story = question.is_story
        return cls(
            word_count=a.word_count,
            length_advice=a.length_reason,
            star_found={p: a.star[p][0].text for p in STAR_PARTS if a.star[p]} if story else {},
            star_missing=list(a.star_missing) if story else [],
            fillers=dict(a.fillers),
            hedges=dict(a.hedges),
            i_count=a.i_count,
            we_count=a.we_count,
            key_points_covered=list(a.key_points_covered),
            key_points_missing=list(a.key_points_missing),
            not_counted=[s.text for s in a.echoes + a.described],
            injections=[s.text for s in a.injections],
        )


@dataclass
class Grade:
    """The result of grading one answer. `scored=False` carries a reason and guidance, never a made-up number.

    It stays this dataclass through the session, the UI and the store; `to_dict`/`from_dict` are the JSON and
    SQLite edge.
    """

    scored: bool
    reason: str | None = None  # why it was not scored, as a sentence for the user
    score: int | None = None
    criteria: dict[str, int] = field(default_factory=dict)
    content: float | None = None  # 0-10: how much of the substance the answer states
    delivery: float | None = None  # 0-10: structure, specifics, ownership, clarity
    band: tuple[int, int] | None = None  # likely range of the score
    feedback: str = ""  # Markdown-free prose; the renderer escapes and formats it
    strengths: list[str] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)
    follow_up: str = ""
    ideal_answer: str = ""
    evidence: Evidence | None = None
    flags: list[str] = field(default_factory=list)
    engine: str = ""
    rubric_score: int | None = None  # the calibrated scorer's score when the engine is an LLM
    disagreement: str | None = None
    latency_s: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Grade:
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        if isinstance(d.get("evidence"), dict):
            d["evidence"] = Evidence(**d["evidence"])
        if d.get("band") is not None:
            d["band"] = tuple(d["band"])
        return cls(**d)


class Coach:
    """Grades answers. Engines implement `grade_stream`; `grade` drains it and returns the final `Grade`."""

    name = "coach"

    def grade_stream(
        self, question: Question, answer: str, stop_event: threading.Event | None = None
    ) -> Iterator[str | Grade]:
        """Yield text pieces as they are generated, then exactly one final `Grade`."""
        raise NotImplementedError

    def grade(self, question: Question, answer: str) -> Grade:
        final = None
        for item in self.grade_stream(question, answer):
            if isinstance(item, Grade):
                final = item
        if final is None:  # an engine bug, not a user error
            raise RuntimeError(f"{type(self).__name__}.grade_stream ended without a Grade")
        return final


def _unscored(reason: str, engine: str, question: Question, t0: float, feedback: str = "") -> Grade:
    if question.is_story:
        hint = "what the situation was, what you did, and what happened as a result"
    else:
        hint = "your direct answer first, then why or how"
    guidance = (
        feedback
        or f"Answer the question in English in a sentence or two: {hint}. If you do not know, say "
        "what you would try first and why."
    )
    return Grade(
        scored=False,
        reason=reason,
        feedback=guidance,
        ideal_answer=question.ideal_answer,
        engine=engine,
        latency_s=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------- rubric engine

SUGGESTIONS = {
    "relevance": "Answer the exact question in your first sentence, then support it; cut what does not serve it.",
    "structure": "Give it one clear order: the situation in a sentence, what you did, and what came of it.",
    "specificity": "Add one detail an interviewer could check: a number, a tool, a name or a date.",
    "communication": "Say it plainly: drop hedges and fillers and keep sentences short.",
}
KNOWLEDGE_SUGGESTIONS = {
    "relevance": "Lead with the direct answer, then the mechanism and a trade-off.",
    "structure": "Order it: definition, how it works, when to use it (and when not).",
    "specificity": "Name the concrete mechanism, a tool, or a worked example.",
    "communication": SUGGESTIONS["communication"],
}


def weakest(criteria: dict[str, int]) -> str:
    """The lowest-scored criterion (ties go to the one listed first)."""
    return min(CRITERIA, key=lambda c: (criteria[c], CRITERIA.index(c)))


def _quote(text: str, max_words: int = 14) -> str:
    return followups.quote(text, max_words)


class RubricCoach(Coach):
    """The default engine: the scorer plus feedback built only from evidence in the answer."""

    name = "rubric"

    def __init__(self, scorer: Scorer | None = None):
        self.scorer = scorer or Scorer.load()

    def grade_stream(
        self, question: Question, answer: str, stop_event: threading.Event | None = None
    ) -> Iterator[str | Grade]:
        yield self.grade(question, answer)

    def grade(self, question: Question, answer: str) -> Grade:
        t0 = time.perf_counter()
        res = self.scorer.score(answer, question)
        if not res.scored:
            return _unscored(res.reason or "no reason was given.", self.name, question, t0)
        return self.grade_from(res, question, answer, t0)

    def grade_from(self, res: ScoreResult, question: Question, answer: str, t0: float) -> Grade:
        a = res.analysis
        strengths = self.strengths(a, res, question)
        improvements = self.improvements(a, res, question)
        return Grade(
            scored=True,
            score=res.score,
            criteria=dict(res.criteria),
            content=res.content,
            delivery=res.delivery,
            band=res.band,
            feedback=self.summary(res, question),
            strengths=strengths,
            improvements=improvements,
            follow_up=followups.follow_up(question, answer, a, res.criteria, res.score),
            ideal_answer=question.ideal_answer,
            evidence=Evidence.of(a, question),
            flags=list(res.flags),
            engine=self.name,
            latency_s=time.perf_counter() - t0,
        )

    @staticmethod
    def summary(res: ScoreResult, question: Question) -> str:
        """One sentence on why the score is what it is, from the two sub-scores and the flags."""
        if "off_topic" in res.flags:
            return "This answer does not address the question asked, so it scores low however well it is written."
        if "near_topic" in res.flags:
            return "This reads like an answer to a different question; it does not address this one directly."
        if "no_content" in res.flags:
            return "This describes or restates what an answer should contain without giving one."
        if res.content is None or res.delivery is None:
            return ""
        c, d = round(res.content), round(res.delivery)  # the values the user sees
        what = "story" if question.is_story else "substance"
        if c >= 7 and d >= 7:
            return f"Strong on both {what} and delivery."
        if c >= d + 2:
            return f"The {what} is there; the delivery holds it back."
        if d >= c + 2:
            return f"Well delivered, but the {what} is thin: the score follows what you actually said."
        level, clarity = ("solid" if c >= 5 else "thin"), ("clear" if d >= 5 else "uneven")
        return f"The {what} is {level} and the delivery {clarity}; below is what would lift it."

    @staticmethod
    def strengths(a: Analysis, res: ScoreResult, q: Question) -> list[str]:
        """Praise only what the answer shows, only where that criterion scored 4 or 5, and only for an answer that
        is at least middling (a weak answer is not told what worked)."""
        crit, out = res.criteria, []
        if res.score is None or res.score < 6:
            return out
        details = list(dict.fromkeys(d for s in a.tools + a.numbers if (d := followups.named_detail_of(s, a))))
        if crit["specificity"] >= 4 and details:
            out.append("Specific: you name concrete details (" + ", ".join(_quote(d, 8) for d in details[:3]) + ").")
        results = [s for s in a.star["result"] if any(s.start <= n.start < s.end for n in a.numbers)]
        if crit["structure"] >= 4 and results and q.is_story:
            out.append(f"You state a measurable result: {_quote(results[0].text)}.")
        if crit["relevance"] >= 4 and a.key_points_covered:
            out.append("You cover these points: " + "; ".join(_quote(k, 12) for k in a.key_points_covered[:3]) + ".")
        if crit["communication"] >= 4 and a.owned_actions and q.is_story:
            out.append(f"You own your actions: {_quote(followups.phrase_around(a.owned_actions[0], a, 5), 12)}.")
        return out

    @staticmethod
    def improvements(a: Analysis, res: ScoreResult, q: Question) -> list[str]:
        """What to change, most valuable first, never contradicting the answer."""
        crit, flags, out = res.criteria, res.flags, []
        story = q.is_story
        if "off_topic" in flags or "near_topic" in flags:
            out.append("Answer the question that was asked: re-read it and lead with a direct answer to it.")
        if a.described or a.echoes:
            said = (a.described + a.echoes)[0]
            out.append(
                f"Give the answer instead of describing it: {_quote(said.text)} tells the listener what you "
                "would say, not what happened or how it works."
            )
        if a.injections:
            out.append("Text addressed to the grader was ignored: " + _quote(a.injections[0].text, 10) + ".")
        if a.key_points_missing and (res.content is None or res.content < 8):
            out.append("Not covered yet: " + "; ".join(a.key_points_missing[:3]) + ".")
        if story and a.star_missing and res.score is not None and res.score < 9:
            missing = [p for p in a.star_missing if not (p == "result" and a.numbers)]
            if missing:
                out.append(f"Missing part of the story: {', '.join(missing)}.")
        if not a.numbers and crit["specificity"] <= 3 and story:
            out.append("No numbers: say how big, how fast or how much changed.")
        if a.hedge_count >= 2:
            hedges = sorted(a.hedges.items(), key=lambda kv: -kv[1])[:3]
            out.append("Hedging weakens it: " + ", ".join(f"{_quote(k)} \u00d7{v}" for k, v in hedges) + ".")
        if a.filler_count >= 3:
            fillers = sorted(a.fillers.items(), key=lambda kv: -kv[1])[:3]
            out.append("Cut fillers: " + ", ".join(f"{_quote(k)} \u00d7{v}" for k, v in fillers) + ".")
        if a.deflections:
            out.append(f"Own the outcome rather than deflect: {_quote(a.deflections[0].text, 10)}.")
        if story and a.we_count > 2 * max(1, a.i_count):
            out.append(
                f"Mostly \u201cwe\u201d ({a.we_count}) and little \u201cI\u201d ({a.i_count}): say what you did."
            )
        if a.length_verdict == "long" or (a.length_verdict == "short" and res.score is not None and res.score <= 6):
            out.append(f"Length: {a.length_reason}.")
        low = weakest(crit)
        if crit[low] <= 3:
            tips = SUGGESTIONS if story else KNOWLEDGE_SUGGESTIONS
            out.append(f"Weakest: {low} ({crit[low]}/5). {tips[low]}")
        return out


# ---------------------------------------------------------------- LLM engines


def _llm_grade(
    text: str, question: Question, answer: str, engine: str, scorer: Scorer | None, t0: float, margin: int
) -> Grade:
    """Strictly parse an LLM reply into a Grade and check it against the rubric scorer."""
    parsed = parse_feedback(text)
    if not parsed.scored:
        return _unscored(
            f"the model's reply could not be read ({parsed.reason}).", engine, question, t0, feedback=parsed.feedback
        )
    rubric = evidence = None
    disagreement = None
    if scorer is not None:
        res = scorer.score(answer, question)
        if res.scored:
            rubric, evidence = res.score, Evidence.of(res.analysis, question)
            if abs(parsed.score - rubric) > margin:
                disagreement = (
                    f"The coach model gave {parsed.score}/10 but the rubric scorer gives {rubric}/10. They "
                    f"differ by more than {margin} points, so treat this score with care and read the "
                    "feedback for the reasons."
                )
    return Grade(
        scored=True,
        score=parsed.score,
        criteria=dict(parsed.criteria),
        feedback=parsed.feedback,
        follow_up=parsed.follow_up,
        ideal_answer=question.ideal_answer or parsed.stronger_answer,
        evidence=evidence,
        engine=engine,
        rubric_score=rubric,
        disagreement=disagreement,
        latency_s=time.perf_counter() - t0,
    )


class LLMCoach(Coach):
    """What both LLM engines share: the same abstention rules first, the prompt from `prompts.py`, streamed
    generation (`_generate`, per engine), then strict parsing and the check against the rubric scorer."""

    scorer: Scorer | None = None
    margin: int = DISAGREEMENT_MARGIN

    def _generate(self, messages: list[dict], stop_event: threading.Event, stop: list[str]) -> Iterator[str]:
        raise NotImplementedError

    def grade_stream(
        self, question: Question, answer: str, stop_event: threading.Event | None = None
    ) -> Iterator[str | Grade]:
        t0 = time.perf_counter()
        if reason := abstain_reason(answer, question):
            yield _unscored(reason, self.name, question, t0)
            return
        messages = coach_messages(question.text, answer, question.role, question.category)
        # a bank question shows its own ideal answer: stop before the model writes one (saves ~150 tokens)
        stop = [STRONGER_ANSWER] if question.ideal_answer else []
        pieces = []
        for piece in self._generate(messages, stop_event or threading.Event(), stop):
            pieces.append(piece)
            yield piece
        yield _llm_grade("".join(pieces), question, answer, self.name, self.scorer, t0, self.margin)


class LocalLLMCoach(LLMCoach):
    """Base model + LoRA adapter on this machine, streamed; the reply is parsed strictly, never guessed."""

    name = "local"

    def __init__(
        self,
        tokenizer,
        model,
        scorer: Scorer | None = None,
        max_new_tokens: int = 400,
        margin: int = DISAGREEMENT_MARGIN,
        guided: bool = True,
    ):
        self.tokenizer, self.model, self.scorer = tokenizer, model, scorer
        self.max_new_tokens, self.margin = max_new_tokens, margin
        # the guided header needs digits as single tokens; other tokenizers generate freely
        self.guided = guided and modeling_supports_guide(tokenizer)

    @classmethod
    def from_config(cls, config: EngineConfig, scorer: Scorer | None = None) -> LocalLLMCoach:
        from interviewmate import modeling

        base, adapter = project_path(config.base), project_path(config.adapter) if config.adapter else None
        tokenizer, model = modeling.load_for_inference(base, adapter, config.quantization)
        return cls(tokenizer, model, scorer=scorer, max_new_tokens=config.max_new_tokens, margin=config.margin,
                   guided=config.guided)  # fmt: skip

    def _generate(self, messages: list[dict], stop_event: threading.Event, stop: list[str]) -> Iterator[str]:
        from interviewmate import modeling

        guide, penalty = (CRITERIA, REPETITION_PENALTY) if self.guided else (None, None)
        yield from modeling.stream_generate(self.model, self.tokenizer, messages, self.max_new_tokens, stop_event,
                                            stop_strings=stop or None, guide_criteria=guide,
                                            repetition_penalty=penalty)  # fmt: skip


def project_path(name: str) -> str:
    """A model folder given relative to the repository (the defaults) found from any working directory; a path
    that exists as given, or a Hub id, is returned unchanged."""
    if os.path.exists(name):
        return name
    in_repo = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), name)
    return in_repo if os.path.exists(in_repo) else name


def modeling_supports_guide(tokenizer) -> bool:
    if tokenizer is None:
        return False
    from interviewmate.modeling import GradeHeaderGuide

    try:
        return GradeHeaderGuide.supported(tokenizer)
    except Exception:  # an unusual tokenizer: generate freely
        return False


class RemoteCoachError(RuntimeError):
    """The remote coach server could not be reached, timed out or refused the request."""


class RemoteCoach(LLMCoach):
    """The same prompts sent to an OpenAI-compatible server (e.g. vLLM serving the base with the adapter)."""

    name = "remote"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        scorer: Scorer | None = None,
        timeout: float = 60.0,
        max_tokens: int = 400,
        margin: int = DISAGREEMENT_MARGIN,
    ):
        from openai import OpenAI

        self.base_url, self.model, self.scorer = base_url, model, scorer
        self.max_tokens, self.margin = max_tokens, margin
        # vLLM ignores the key unless started with --api-key; the client insists on one
        self.client = OpenAI(base_url=base_url, api_key=api_key or "EMPTY", timeout=timeout, max_retries=0)

    def _generate(self, messages: list[dict], stop_event: threading.Event, stop: list[str]) -> Iterator[str]:
        import openai

        try:
            stream = self.client.chat.completions.create(
                model=self.model, messages=messages, stream=True, temperature=0.0, max_tokens=self.max_tokens,
                **({"stop": stop} if stop else {}),
            )  # fmt: skip
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
            raise RemoteCoachError(
                f"cannot connect to the remote coach at {self.base_url}: is the server running? ({e})"
            ) from e
        except openai.APIStatusError as e:
            raise RemoteCoachError(
                f"the remote coach at {self.base_url} refused the request for model "
                f"{self.model!r}: HTTP {e.status_code} {e.message}"
            ) from e


def make_coach(config: EngineConfig | None = None, scorer: Scorer | None = None) -> Coach:
    """Build the coach a configuration asks for. LLM engines get the rubric scorer for their cross-check."""
    config = config or EngineConfig()
    config.validate()
    scorer = scorer or Scorer.load(config.scorer_path)
    if config.engine == "rubric":
        return RubricCoach(scorer)
    if config.engine == "local":
        return LocalLLMCoach.from_config(config, scorer=scorer)
    return RemoteCoach(
        config.remote_url,
        config.remote_model,
        api_key=config.api_key,
        scorer=scorer,
        timeout=config.timeout_s,
        max_tokens=config.max_new_tokens,
        margin=config.margin,
    )
