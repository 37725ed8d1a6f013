"""One mock interview: plan the questions, ask them, grade answers, follow up, retry, summarise.

Pure session logic over a `Coach`; it knows nothing of Gradio or storage. The UI keeps one
`InterviewSession` per browser tab in `gr.State` and renders the chat from it.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

from interviewmate import matching
from interviewmate.coach import Coach, Grade
from interviewmate.matching import ROLE_FOCUS, WEAK, BankIndex, Match, match_description
from interviewmate.questions import Question
from interviewmate.rubric import (
    ANY,
    CATEGORIES,
    CRITERIA,
    DIFFICULTIES,
    ROLE_CHOICES,
    STORY_CATEGORIES,
    bank_roles,
    category_label,
    role_label,
)

MAX_ANSWER_CHARS = 6000  # ~1000 words: far beyond any good spoken answer, small enough to grade fast
MAX_JOB_DESCRIPTION_CHARS = 8000
MAX_QUESTIONS = 15

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
        if self.role not in ROLE_CHOICES:
            raise InterviewError(f"unknown role {self.role!r}; choose one of {', '.join(ROLE_CHOICES)}")
        if not 1 <= int(self.n_questions) <= MAX_QUESTIONS:
            raise InterviewError(f"number of questions must be between 1 and {MAX_QUESTIONS}")
        if self.difficulty not in (ANY, *DIFFICULTIES):
            raise InterviewError(f"difficulty must be one of {', '.join((ANY, *DIFFICULTIES))}")
        unknown = sorted(set(self.categories) - set(CATEGORIES))
        if unknown:
            raise InterviewError(f"unknown categories: {', '.join(unknown)}")
        check_text(self.job_description, "job description")
        if len(self.job_description) > MAX_JOB_DESCRIPTION_CHARS:
            raise InterviewError(
                f"the job description is {len(self.job_description):,} characters; the limit is "
                f"{MAX_JOB_DESCRIPTION_CHARS:,}. Paste the responsibilities and requirements only."
            )
        if self.time_limit_s is not None and not 10 <= int(self.time_limit_s) <= 1800:
            raise InterviewError("the time limit must be between 10 seconds and 30 minutes")


@dataclass
class PlannedQuestion:
    item: Question
    reason: str
    match: float | None = None  # job-description match score, when the plan was matched to one
    level: str | None = None  # strong / partial / weak match with the job description


@dataclass
class Turn:
    """One graded answer: to a main question (attempt 1, 2, ... on retries) or to a follow-up."""

    question_id: str
    kind: str  # "main" or "follow_up"
    question: str
    answer: str
    grade: Grade
    attempt: int = 1
    elapsed_s: float | None = None
    over_time: bool = False

    def to_dict(self) -> dict:
        return {**asdict(self), "grade": self.grade.to_dict()}


@dataclass
class Plan:
    """The questions chosen for a session and, with a job description, what the user is told about the match."""

    questions: list[PlannedQuestion]
    statement: str = ""  # plain words (the renderer escapes them); empty without a job description
    little_fits: bool = False  # the bank had little that fits the description: general questions instead


_SHARED_INDEXES: dict[tuple[str, ...], BankIndex] = {}
_SHARED_LOCK = threading.Lock()


def shared_index(bank: list[Question]) -> BankIndex:
    """The process-wide `BankIndex` of a bank (the app passes its own; this serves scripts and tests)."""
    key = tuple(q.question_id for q in bank)
    with _SHARED_LOCK:
        if key not in _SHARED_INDEXES:
            _SHARED_INDEXES[key] = BankIndex(bank)
        return _SHARED_INDEXES[key]


def plan_questions(
    bank: list[Question], config: InterviewConfig, index: BankIndex | None = None, embed=None
) -> list[PlannedQuestion]:
    """The questions of `plan_interview`."""
    return plan_interview(bank, config, index=index, embed=embed).questions


def plan_interview(
    bank: list[Question], config: InterviewConfig, index: BankIndex | None = None, embed=None
) -> Plan:
    """Choose questions for a session, each with the reason it was chosen.

    Filters by categories and difficulty, then by role: the bank roles the chosen role draws on plus
    role-neutral questions (other roles' questions only to fill the session). With a job description the
    candidates are ranked by the skills it asks for (`matching`); when little fits, general questions closest
    to the description are asked instead and the plan says so. Without one, questions are sampled at random,
    spread over the chosen categories (for roles the bank has no questions of its own for, such as data
    engineer, only questions that test the role's skills are sampled).
    """
    config.validate()
    rng = random.Random(config.seed)
    pool = [
        q
        for q in bank
        if (not config.categories or q.category in config.categories)
        and (config.difficulty == ANY or q.difficulty == config.difficulty)
    ]
    if not pool:
        raise InterviewError("no questions match these settings: choose more categories or any difficulty")
    n = min(int(config.n_questions), len(pool))
    roles = bank_roles(config.role)
    candidates = pool
    if roles:  # the role's own questions and role-neutral ones; other roles' only to fill the session
        fitting = [q for q in pool if q.role in roles or q.role == "general"]
        candidates = fitting + [q for q in pool if q not in fitting][: max(0, n - len(fitting))]
    jd = config.job_description.strip()
    focus = ROLE_FOCUS.get(config.role)
    if jd or focus:
        index = index or (BankIndex(bank, embed) if embed is not None else shared_index(bank))
    if jd:
        return _plan_for_description(jd, candidates, n, config, index)
    tests: dict[str, Match] = {}
    if focus:  # keep the questions that test the role's skills, and role-neutral ones
        tests = {m.question.question_id: m for m in match_description(focus, candidates, index).matches
                 if m.level != WEAK and m.job_skill}  # fmt: skip
        narrowed = [q for q in candidates if q.question_id in tests or q.role == "general"]
        candidates = narrowed if len(narrowed) >= n else candidates
    chosen = _sample(candidates, n, config, rng)
    return Plan([PlannedQuestion(q, _reason(q, config, tests.get(q.question_id))) for q in chosen])


def _plan_for_description(jd: str, candidates: list[Question], n: int, config: InterviewConfig, index) -> Plan:
    report = match_description(jd, candidates, index)
    if not report.little_fits(n):
        chosen = report.top(n)
        planned = [PlannedQuestion(m.question, _match_reason(m), round(m.score, 3), m.level) for m in chosen]
        return Plan(planned, matching.statement(report, chosen, fallback=False))
    primary = bank_roles(config.role)[:1]
    general = [q for q in candidates if q.role == "general" or q.role in primary]
    fallback = [q for q in general if q.category in STORY_CATEGORIES] or general or candidates
    # the ones close to what the description says first; then the staples of any interview (easy general ones)
    rng = random.Random(config.seed)
    staples = sorted(fallback, key=lambda q: (q.category != "general", q.difficulty != "easy", rng.random()))
    close = [m for m in report.top(n, pool=fallback) if m.level != WEAK]
    taken = {m.question.question_id for m in close}
    by_id = {m.question.question_id: m for m in report.matches}
    chosen = close + [by_id[q.question_id] for q in staples if q.question_id not in taken][: n - len(close)]
    planned = [PlannedQuestion(m.question, _fallback_reason(m), round(m.score, 3), m.level) for m in chosen]
    return Plan(planned, matching.statement(report, chosen, fallback=True), little_fits=True)


def _sample(pool: list[Question], n: int, config: InterviewConfig, rng: random.Random) -> list[Question]:
    """n questions at random, round-robin over categories, the chosen role's own questions first."""
    roles = bank_roles(config.role)
    by_category: dict[str, list[Question]] = {}
    for q in pool:
        by_category.setdefault(q.category, []).append(q)
    for qs in by_category.values():  # shuffle within a category, the role's own questions first
        rng.shuffle(qs)
        qs.sort(key=lambda q: q.role not in roles[:1])
    cats = sorted(by_category)
    rng.shuffle(cats)
    if roles:  # categories where the role has its own questions come first
        cats.sort(key=lambda c: not any(q.role in roles for q in by_category[c]))
    chosen: list[Question] = []
    while len(chosen) < n:  # round-robin over categories so one category does not fill the session
        for cat in cats:
            if by_category[cat] and len(chosen) < n:
                chosen.append(by_category[cat].pop(0))
    return chosen


def _kind(q: Question) -> str:
    return f"{category_label(q.category)}, {q.difficulty}"


def _match_reason(m: Match) -> str:
    if m.level == WEAK:
        return f"{_kind(m.question)}. Weak match: the closest the bank has to {m.because()} in your job description."
    if not m.job_skill:
        return f"{_kind(m.question)}. Matches what your job description says about {m.because()}."
    return f"{_kind(m.question)}. {m.level.capitalize()} match with your job description: {m.because()}."


def _fallback_reason(m: Match) -> str:
    near = f"; closest to what your job description says about {m.because()}" if m.level != WEAK else ""
    return f"{_kind(m.question)}. General question{near}."


def _reason(q: Question, config: InterviewConfig, tests: Match | None = None) -> str:
    roles = bank_roles(config.role)
    if q.role == "general":
        who = "asked of every role"
    elif tests is not None:  # a role the bank has no questions of its own for: say which of its skills
        who = f"for a {role_label(config.role).lower()}: tests {tests.because()}"
    elif not roles or q.role == config.role:
        who = f"asked of {role_label(q.role).lower()}s"
    elif q.role in roles:
        who = f"from the {role_label(q.role).lower()} questions"
    else:
        who = f"from the {role_label(q.role).lower()} set (few {role_label(config.role).lower()} questions match)"
    return f"{_kind(q)}; {who}."


# lone surrogates (half an emoji from a broken paste or a raw API call) cannot be stored or graded; NUL and the
# Unicode non-characters are never typed
_UNREADABLE = re.compile("[\ud800-\udfff\x00\ufffe\uffff]")


def check_text(text: str, what: str = "answer") -> str:
    """Refuse text that cannot be read back (see `_UNREADABLE`), with a message the user can act on."""
    bad = _UNREADABLE.search(text or "")
    if bad:
        raise InterviewError(
            f"Your {what} contains a character that could not be read (at position {bad.start() + 1:,}), often half "
            "of an emoji or symbol from a copy and paste. Delete that character or retype the text, then try again."
        )
    return text


def check_answer(answer: str) -> str:
    """Normalise an answer or raise `InterviewError` with a message for the user."""
    if not isinstance(answer, str) or not answer.strip():
        raise InterviewError("Your answer is empty: type your answer, then press Submit.")
    if len(answer) > MAX_ANSWER_CHARS:
        over = len(answer) - MAX_ANSWER_CHARS
        raise InterviewError(
            f"Your answer is {len(answer):,} characters; the limit is {MAX_ANSWER_CHARS:,} (about 1,000 words). "
            f"Nothing was cut: shorten it by {over:,} characters and submit again. Spoken answers of 1-3 minutes "
            "work best."
        )
    return check_text(answer).strip()


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
    match_statement: str = ""  # what the plan says about its fit with the job description (empty without one)

    @classmethod
    def start(
        cls, bank: list[Question], config: InterviewConfig, engine: str = "rubric", index: BankIndex | None = None,
        embed=None,
    ) -> InterviewSession:  # fmt: skip
        plan = plan_interview(bank, config, index=index, embed=embed)
        session = cls(config=config, plan=plan.questions, engine=engine, match_statement=plan.statement)
        session.asked_at = time.time()
        return session

    @property
    def current(self) -> PlannedQuestion | None:
        return None if self.finished or self.index >= len(self.plan) else self.plan[self.index]

    def prompt_text(self) -> str:
        """What the interviewer is asking now."""
        if self.current is None:
            return ""
        return self.pending_follow_up or self.current.item.text

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
            # graded as an answer to the follow-up: no reference of its own, no main-question length or STAR advice
            last = self._last_main()
            graded_item = item.follow_up(question, last.answer if last else "")
        else:
            kind, question, graded_item = "main", item.text, item
        grade: Grade | None = None
        for piece in coach.grade_stream(graded_item, answer, stop_event=stop_event):
            if isinstance(piece, Grade):
                grade = piece
            else:
                yield piece
        if grade is None:
            raise InterviewError("The coach stopped before it finished grading: submit the answer again.")
        attempt = len(self.attempts(item.question_id)) + 1 if kind == "main" else 1
        turn = Turn(item.question_id, kind, question, answer, grade, attempt, elapsed, over)
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
        if last is None or not last.grade.follow_up:
            return None
        self.pending_follow_up = last.grade.follow_up
        self.asked_at = time.time()
        return self.pending_follow_up

    def retry(self) -> str:
        """Answer the current main question again; returns the question."""
        if self.current is None:
            raise InterviewError("The interview is over: start a new one.")
        self.pending_follow_up = None
        self.asked_at = time.time()
        return self.current.item.text

    def next_question(self) -> str | None:
        """Move on; returns the next question, or None when the interview is over."""
        self.pending_follow_up = None
        self.index += 1
        self.asked_at = time.time()
        if self.index >= len(self.plan):
            self.finished = True
            return None
        return self.plan[self.index].item.text

    def _last_main(self) -> Turn | None:
        if self.current is None:
            return None
        tries = self.attempts(self.current.item.question_id)
        return tries[-1] if tries else None

    def previous_score(self, turn: Turn) -> int | None:
        """The score of the last scored attempt at the same question before `turn` (for "what changed")."""
        earlier = [t for t in self.turns[: self.turns.index(turn)]
                   if t.question_id == turn.question_id and t.kind == "main" and t.grade.scored]  # fmt: skip
        return earlier[-1].grade.score if earlier and turn.kind == "main" else None

    def summary(self) -> dict:
        """Per-question scores (best attempt), criteria means, strengths and the top three things to practise.

        The session's mean score has one definition everywhere (summary, export, Progress): the mean over main
        questions of the best scored attempt (`session_mean`). Follow-up answers are reported apart.
        """
        questions = []
        for planned in self.plan:
            tries = self.attempts(planned.item.question_id)
            scored = [t for t in tries if t.grade.scored]
            best = max(scored, key=lambda t: t.grade.score) if scored else None
            questions.append(
                {
                    "question_id": planned.item.question_id,
                    "question": planned.item.text,
                    "category": planned.item.category,
                    "ideal_answer": planned.item.ideal_answer,
                    "attempts": len(tries),
                    "best_score": best.grade.score if best else None,
                    "first_score": scored[0].grade.score if scored else None,
                    "criteria": best.grade.criteria if best else None,
                    "not_scored_reason": None if best or not tries else tries[-1].grade.reason,
                }
            )
        graded = [q for q in questions if q["criteria"]]
        means = {c: round(float(np.mean([q["criteria"][c] for q in graded])), 2) for c in CRITERIA} if graded else {}
        follow = [t for t in self.turns if t.kind == "follow_up"]
        strengths, practice = self._advice(means)
        return {
            "session_id": self.session_id,
            "engine": self.engine,
            "config": asdict(self.config),
            "answered": sum(1 for q in questions if q["attempts"]),
            "mean_score": session_mean([q["best_score"] for q in graded]),
            "criteria_means": means,
            "questions": questions,
            "follow_ups_answered": len(follow),
            "follow_up_mean_score": session_mean([t.grade.score for t in follow if t.grade.scored]),
            "strengths": strengths,
            "practice": practice,
        }

    def _advice(self, means: dict) -> tuple[list[str], list[str]]:
        """Strengths from the best criteria; the three most valuable things to practise from the main answers
        (a follow-up's own advice never crowds them out), most frequent first, topped up from weak criteria."""
        graded = [t.grade for t in self.turns if t.grade.scored and t.kind == "main"]
        strengths = [
            f"{c.capitalize()} averaged {v:.1f}/5." for c, v in sorted(means.items(), key=lambda x: -x[1]) if v >= 4
        ][:3]
        counts: dict[str, int] = {}
        for g in graded:
            for item in g.improvements:
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
                {"question_id": p.item.question_id, "question": p.item.text, "reason": p.reason, "match": p.match,
                 "level": p.level}
                for p in self.plan
            ],
            "match_statement": self.match_statement,
            "turns": [t.to_dict() for t in self.turns],
            "summary": self.summary(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str)


def session_mean(scores: list) -> float | None:
    """The one definition of a session's mean score: the plain mean of the scores given, to 2 decimals."""
    kept = [s for s in scores if s is not None]
    return round(float(np.mean(kept)), 2) if kept else None
