"""One mock interview: plan the questions, ask them, grade answers, follow up, retry, summarise.

Pure session logic over a `Coach`; it knows nothing of Gradio or storage. The UI keeps one
`InterviewSession` per browser tab in `gr.State` and renders the chat from it.
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from interviewmate.coach import Coach, Grade, QuestionItem
from interviewmate.prompts import CRITERIA

MAX_ANSWER_CHARS = 6000  # ~1000 words: far beyond any good spoken answer, small enough to grade fast
MAX_JOB_DESCRIPTION_CHARS = 8000
MAX_QUESTIONS = 15
DIFFICULTIES = ("any", "easy", "medium", "hard")

_STOPWORDS = set(
    "a an and are as at be by for from has have in is it its of on or our that the their this to was we were will "
    "with you your they them he she his her i me my what when where which who why how do does did can could would "
    "should about into over more most such than then there these those also any all not no yes if but so very "
    "work team role job experience years looking candidate ability strong skills including using used use".split()
)


class InterviewError(ValueError):
    """A user-facing problem with a request (empty answer, answer too long, no matching questions)."""


@dataclass
class InterviewConfig:
    role: str = "general"
    categories: list[str] = field(default_factory=list)  # empty: every category
    difficulty: str = "any"
    n_questions: int = 5
    job_description: str = ""
    time_limit_s: int | None = None  # per answer; answers over time are graded and flagged
    seed: int | None = None

    def validate(self) -> None:
        if not 1 <= int(self.n_questions) <= MAX_QUESTIONS:
            raise InterviewError(f"number of questions must be between 1 and {MAX_QUESTIONS}")
        if self.difficulty not in DIFFICULTIES:
            raise InterviewError(f"difficulty must be one of {', '.join(DIFFICULTIES)}")
        if len(self.job_description) > MAX_JOB_DESCRIPTION_CHARS:
            raise InterviewError(
                f"the job description is {len(self.job_description):,} characters; the limit is "
                f"{MAX_JOB_DESCRIPTION_CHARS:,}. Paste the responsibilities and requirements only."
            )
        if self.time_limit_s is not None and not 10 <= int(self.time_limit_s) <= 1800:
            raise InterviewError("the time limit must be between 10 seconds and 30 minutes")


@dataclass
class PlannedQuestion:
    item: QuestionItem
    reason: str


@dataclass
class Turn:
    """One graded answer: to a main question (attempt 1, 2, ... on retries) or to a follow-up."""

    question_id: str
    kind: str  # "main" or "follow_up"
    question: str
    answer: str
    grade: dict
    attempt: int = 1
    elapsed_s: float | None = None
    over_time: bool = False


def _keywords(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z0-9+#/.-]{2,}", text.lower()) if w not in _STOPWORDS}


def plan_questions(
    bank: list[QuestionItem],
    config: InterviewConfig,
    embed: Callable[[list[str]], np.ndarray] | None = None,
) -> list[PlannedQuestion]:
    """Choose questions for a session, each with the reason it was chosen.

    Filters by role (the role's own questions plus role-neutral ones), categories and difficulty. With a
    job description, ranks the candidates by embedding similarity to it and names the shared terms;
    otherwise samples them at random, spread over the chosen categories.
    """
    config.validate()
    rng = random.Random(config.seed)
    pool = [
        q
        for q in bank
        if (not config.categories or q.category in config.categories)
        and (config.difficulty == "any" or q.difficulty == config.difficulty)
    ]
    specific = config.role not in ("general", "any", "")
    if specific:  # the role's own questions and role-neutral ones; other roles' only to fill the session
        fitting = [q for q in pool if q.role in (config.role, "general")]
        others = [q for q in pool if q not in fitting]
        pool = fitting + others[: max(0, int(config.n_questions) - len(fitting))]
    if not pool:
        raise InterviewError("no questions match these settings: choose more categories or any difficulty")
    n = min(int(config.n_questions), len(pool))
    jd = config.job_description.strip()
    if jd:
        if embed is None:  # lazy: the embedding model loads only when a job description is given
            from interviewmate.scoring import get_embedder

            embed = get_embedder().encode
        vectors = np.asarray(embed([jd] + [f"{q.question} {' '.join(q.key_points)}" for q in pool]), dtype=float)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
        sims = vectors[1:] @ vectors[0]
        order = np.argsort(-sims, kind="stable")[:n]
        jd_terms = _keywords(jd)
        out = []
        for i in order:
            q = pool[int(i)]
            shared = sorted(jd_terms & _keywords(f"{q.question} {' '.join(q.key_points)} {q.ideal_answer}"))
            because = f"shares {', '.join(shared[:4])}" if shared else "closest in meaning"
            out.append(PlannedQuestion(q, f"Matches your job description ({because}; similarity {sims[i]:.2f})."))
        return out
    by_category: dict[str, list[QuestionItem]] = {}
    for q in pool:
        by_category.setdefault(q.category, []).append(q)
    for qs in by_category.values():  # shuffle within a category, the role's own questions first
        rng.shuffle(qs)
        qs.sort(key=lambda q: q.role != config.role)
    cats = sorted(by_category)
    rng.shuffle(cats)
    if specific:  # categories where the role has its own questions come first
        cats.sort(key=lambda c: not any(q.role == config.role for q in by_category[c]))
    chosen: list[QuestionItem] = []
    while len(chosen) < n:  # round-robin over categories so one category does not fill the session
        for cat in cats:
            if by_category[cat] and len(chosen) < n:
                chosen.append(by_category[cat].pop(0))
    return [PlannedQuestion(q, _reason(q, config)) for q in chosen]


def _reason(q: QuestionItem, config: InterviewConfig) -> str:
    parts = [f"{q.category.replace('_', ' ')} question"]
    if q.role == "general":
        parts.append("asked of every role")
    elif config.role in ("general", "any", "") or q.role == config.role:
        parts.append(f"asked of {q.role}s")
    else:
        parts.append(f"from the {q.role} set (few {config.role} questions match your filters)")
    parts.append(f"{q.difficulty} difficulty")
    return "; ".join(parts).capitalize() + "."


def check_answer(answer: str) -> str:
    """Normalise an answer or raise `InterviewError` with a message for the user."""
    if not isinstance(answer, str) or not answer.strip():
        raise InterviewError("Your answer is empty: type your answer, then press Submit.")
    if len(answer) > MAX_ANSWER_CHARS:
        raise InterviewError(
            f"Your answer is {len(answer):,} characters; the limit is {MAX_ANSWER_CHARS:,} (about 1,000 words). "
            "Spoken answers of 1-3 minutes work best: shorten it and submit again."
        )
    return answer.strip()


@dataclass
class InterviewSession:
    """The state of one interview. Serialisable, so it can live in `gr.State` and be saved."""

    config: InterviewConfig
    plan: list[PlannedQuestion]
    engine: str = "rubric"
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: float = field(default_factory=time.time)
    index: int = 0
    turns: list[Turn] = field(default_factory=list)
    pending_follow_up: str | None = None
    asked_at: float | None = None
    finished: bool = False

    @classmethod
    def start(cls, bank: list[QuestionItem], config: InterviewConfig, engine: str = "rubric", embed=None):
        session = cls(config=config, plan=plan_questions(bank, config, embed=embed), engine=engine)
        session.asked_at = time.time()
        return session

    @property
    def current(self) -> PlannedQuestion | None:
        return None if self.finished or self.index >= len(self.plan) else self.plan[self.index]

    def prompt_text(self) -> str:
        """What the interviewer is asking now."""
        if self.current is None:
            return ""
        return self.pending_follow_up or self.current.item.question

    def attempts(self, question_id: str) -> list[Turn]:
        return [t for t in self.turns if t.question_id == question_id and t.kind == "main"]

    def _elapsed(self, now: float | None) -> tuple[float | None, bool]:
        if self.asked_at is None:
            return None, False
        elapsed = max(0.0, (now or time.time()) - self.asked_at)
        limit = self.config.time_limit_s
        return round(elapsed, 1), bool(limit and elapsed > limit)

    def answer_stream(self, answer: str, coach: Coach, stop_event=None, now: float | None = None) -> Iterator:
        """Grade an answer to the current question or follow-up: yields text pieces, then the `Turn`."""
        if self.current is None:
            raise InterviewError("The interview is over: start a new one.")
        answer = check_answer(answer)
        item = self.current.item
        elapsed, over = self._elapsed(now)
        if self.pending_follow_up:
            kind, question = "follow_up", self.pending_follow_up
            # the follow-up is graded as its own question against the same topic's rubric
            graded_item = replace(item, question=question, ideal_answer="", key_points=[], reference_answers=[])
        else:
            kind, question, graded_item = "main", item.question, item
        grade: Grade | None = None
        for piece in coach.grade_stream(graded_item, answer, stop_event=stop_event):
            if isinstance(piece, Grade):
                grade = piece
            else:
                yield piece
        if grade is None:
            raise InterviewError("The coach stopped before it finished grading: submit the answer again.")
        attempt = len(self.attempts(item.question_id)) + 1 if kind == "main" else 1
        turn = Turn(item.question_id, kind, question, answer, grade.to_dict(), attempt, elapsed, over)
        self.turns.append(turn)
        self.pending_follow_up = None
        self.asked_at = now or time.time()
        yield turn

    def answer(self, answer: str, coach: Coach, now: float | None = None) -> Turn:
        """Non-streaming `answer_stream`."""
        turn = None
        for piece in self.answer_stream(answer, coach, now=now):
            if isinstance(piece, Turn):
                turn = piece
        return turn

    def ask_follow_up(self) -> str | None:
        """Put the last graded answer's follow-up to the user (returns it), if there is one."""
        last = self._last_main()
        if last is None or not last.grade.get("follow_up"):
            return None
        self.pending_follow_up = last.grade["follow_up"]
        self.asked_at = time.time()
        return self.pending_follow_up

    def retry(self) -> str:
        """Answer the current main question again; returns the question."""
        if self.current is None:
            raise InterviewError("The interview is over: start a new one.")
        self.pending_follow_up = None
        self.asked_at = time.time()
        return self.current.item.question

    def next_question(self) -> str | None:
        """Move on; returns the next question, or None when the interview is over."""
        self.pending_follow_up = None
        self.index += 1
        self.asked_at = time.time()
        if self.index >= len(self.plan):
            self.finished = True
            return None
        return self.plan[self.index].item.question

    def _last_main(self) -> Turn | None:
        if self.current is None:
            return None
        tries = self.attempts(self.current.item.question_id)
        return tries[-1] if tries else None

    def previous_score(self, turn: Turn) -> int | None:
        """The score of the last scored attempt at the same question before `turn` (for "what changed")."""
        earlier = [t for t in self.turns[: self.turns.index(turn)]
                   if t.question_id == turn.question_id and t.kind == "main" and t.grade.get("scored")]  # fmt: skip
        return earlier[-1].grade["score"] if earlier and turn.kind == "main" else None

    def summary(self) -> dict:
        """Per-question scores (best attempt), criteria means, strengths and the top three things to practise."""
        questions = []
        for planned in self.plan:
            tries = self.attempts(planned.item.question_id)
            scored = [t for t in tries if t.grade.get("scored")]
            best = max(scored, key=lambda t: t.grade["score"]) if scored else None
            questions.append(
                {
                    "question_id": planned.item.question_id,
                    "question": planned.item.question,
                    "category": planned.item.category,
                    "attempts": len(tries),
                    "best_score": best.grade["score"] if best else None,
                    "first_score": scored[0].grade["score"] if scored else None,
                    "criteria": best.grade["criteria"] if best else None,
                    "not_scored_reason": None if best or not tries else tries[-1].grade.get("reason"),
                }
            )
        graded = [q for q in questions if q["criteria"]]
        means = {c: round(float(np.mean([q["criteria"][c] for q in graded])), 2) for c in CRITERIA} if graded else {}
        strengths, practice = self._advice(means)
        return {
            "session_id": self.session_id,
            "engine": self.engine,
            "config": asdict(self.config),
            "answered": sum(1 for q in questions if q["attempts"]),
            "mean_score": round(float(np.mean([q["best_score"] for q in graded])), 2) if graded else None,
            "criteria_means": means,
            "questions": questions,
            "follow_ups_answered": sum(1 for t in self.turns if t.kind == "follow_up"),
            "strengths": strengths,
            "practice": practice,
        }

    def _advice(self, means: dict) -> tuple[list[str], list[str]]:
        """Strengths from the best criteria; the three most valuable practice items, most frequent first."""
        graded = [t.grade for t in self.turns if t.grade.get("scored")]
        strengths = [
            f"{c.capitalize()} averaged {v:.1f}/5." for c, v in sorted(means.items(), key=lambda x: -x[1]) if v >= 4
        ][:3]
        counts: dict[str, int] = {}
        for g in graded:
            for item in g.get("improvements") or []:
                counts[item] = counts.get(item, 0) + 1
        practice = [text for text, _ in sorted(counts.items(), key=lambda x: -x[1])][:3]
        for c, v in sorted(means.items(), key=lambda x: x[1]):  # top up from the weakest criteria
            if len(practice) >= 3:
                break
            if v < 4:
                practice.append(f"Raise your {c} (average {v:.1f}/5).")
        return strengths, practice[:3]

    def to_dict(self) -> dict:
        return {
            "session_id": self.session_id,
            "engine": self.engine,
            "started_at": self.started_at,
            "config": asdict(self.config),
            "plan": [
                {"question_id": p.item.question_id, "question": p.item.question, "reason": p.reason} for p in self.plan
            ],
            "turns": [asdict(t) for t in self.turns],
            "summary": self.summary(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str)

    def to_markdown(self) -> str:
        """The transcript and report a user can keep."""
        s = self.summary()
        lines = [
            "# InterviewMate session report",
            "",
            f"- Session: `{self.session_id}`, {time.strftime('%Y-%m-%d %H:%M', time.gmtime(self.started_at))} UTC",
            f"- Role: {self.config.role}; engine: {self.engine}; questions answered: {s['answered']}/{len(self.plan)}",
            f"- Mean score (best attempt per question): {'n/a' if s['mean_score'] is None else s['mean_score']}/10",
            "",
        ]
        if s["criteria_means"]:
            lines += ["| criterion | mean (1-5) |", "| --- | --- |"]
            lines += [f"| {c} | {v} |" for c, v in s["criteria_means"].items()] + [""]
        if s["strengths"]:
            lines += ["## Strengths", *[f"- {x}" for x in s["strengths"]], ""]
        if s["practice"]:
            lines += ["## Practise next", *[f"{i}. {x}" for i, x in enumerate(s["practice"], 1)], ""]
        lines += ["## Transcript", ""]
        for t in self.turns:
            g = t.grade
            label = "Follow-up" if t.kind == "follow_up" else f"Question (attempt {t.attempt})"
            verdict = f"**{g['score']}/10**" if g.get("scored") else f"not scored: {g.get('reason')}"
            lines += [f"### {label}: {t.question}", "", f"> {t.answer}", "", f"Score: {verdict}"]
            if g.get("scored"):
                lines.append("Criteria: " + ", ".join(f"{c} {g['criteria'][c]}/5" for c in CRITERIA))
            if g.get("feedback"):
                lines += ["", g["feedback"]]
            lines.append("")
        return "\n".join(lines)
