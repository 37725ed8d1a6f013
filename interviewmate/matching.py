"""Job-description matching: which bank questions test the skills a job description asks for, and how well.

A description is split into requirement phrases (its bullets and sentences; titles, company blurbs, pay and
benefits are dropped) and the named skills in each are found with a small lexicon. Every candidate question
is scored against every phrase: MiniLM similarity between the phrase and the question (its text and key
points), plus a bonus for each named skill both share. A question's match is its best phrase; its level
(strong, partial or weak) and the skills it shares are stated in words. When few questions match the
skills the description asks for, the report says so plainly, so the planner can fall back to general
questions instead of labelling filler as a match.

The bank is embedded once per process (`BankIndex`) and shared read-only by every user. What this is not:
planning a session (`interview.py`) or rendering (`render.py`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from interviewmate.questions import Question

STRONG, PARTIAL, WEAK = "strong", "partial", "weak"
# on a phrase-to-question score of cosine similarity + skill bonus; set on data/jd_eval.jsonl (see
# scripts/eval_jd_matching.py): spurious matches of unrelated jobs (barista, nurse, sales) stay below PARTIAL
STRONG_AT, PARTIAL_AT = 0.58, 0.47
SKILL_BONUS, MAX_SKILL_BONUS = 0.10, 0.20
REUSE_PENALTY = 0.08  # per earlier pick that matched the same phrase: five questions on one bullet is no interview
MIN_FITTING = 3  # fewer STRONG matches on the job's own skills than this (or than asked for): "little fits"

logger = logging.getLogger(__name__)

Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Skill:
    name: str
    pattern: re.Pattern
    kind: str  # "tool" (a named product), "concept" (a skill or topic) or "soft" (behaviour, any job)


def _skills(*rows: tuple[str, str, str]) -> tuple[Skill, ...]:
    return tuple(Skill(name, re.compile(rf"(?<![\w/-])(?:{rx})(?![\w/])", re.I), kind) for name, kind, rx in rows)


# The skills vocabulary: what job descriptions ask for and the bank's questions test, plus common skills the
# bank has no questions on (so the report can name them). Patterns match whole words, case-insensitively.
SKILLS = _skills(
    # data
    ("SQL", "concept", r"sql|ctes?"),
    ("window functions", "concept", r"window functions?|row_number|partition by|qualify"),
    ("joins", "concept", r"(?:inner |left |anti-)?joins?"),
    ("data modelling", "concept", r"data model(?:l)?ing|dimensional models?|data models?|schema design|"
                                  r"(?:de)?normali[sz](?:e|ed|ing|ation)|slowly changing dimensions?"),
    ("data pipelines", "concept", r"(?:data|batch|streaming|ingestion|logging|metrics|etl|elt) pipelines?|"
                                  r"etl|elt|ingest(?:s|ion)?|backfills?"),
    ("data warehouses", "concept", r"(?:data )?warehouses?|lakehouse"),
    ("data quality", "concept", r"data quality|deduplicat\w*|duplicate rows|missing data|late-arriving data|"
                                r"reconciliation"),
    ("idempotency and retries", "concept", r"idempoten\w*|safe to re-?run|retries|retryable"),
    ("databases", "concept", r"relational databases?|databases?|postgres(?:ql)?|mysql|nosql"),
    ("indexes", "concept", r"index(?:es|ing)?|b-trees?"),
    ("transactions", "concept", r"transactions?|acid|isolation levels?"),
    ("distributed systems", "concept", r"distributed (?:systems?|processing)|replication|sharding|consensus"),
    ("caching", "concept", r"cach(?:e|es|ing)|redis|memcached"),
    ("rate limiting", "concept", r"rate limit(?:s|ing|er)?"),
    ("APIs", "concept", r"apis?|rest(?:ful)?|grpc|endpoints?"),
    ("concurrency", "concept", r"concurren\w*|goroutines?|race conditions?|deadlocks?|threads?|locks"),
    ("async code", "concept", r"async(?:hronous)?|await|event loop"),
    ("memory and performance", "concept", r"memory leaks?|latency|p99|oom|performance problems?|profil(?:e|ing)"),
    ("testing", "concept", r"(?:unit|integration|end-to-end|e2e) tests?|test pyramid|flaky tests?|"
                           r"(?<!a/b )tests?|testing"),
    ("code review", "concept", r"code reviews?|review(?:ing)? (?:your teammates'|someone else's|other people's) code"),
    ("git", "tool", r"git|version control"),
    ("web security", "concept", r"xss|csrf|sql injection|injection|oauth|authenticat\w*|passwords?|secrets|"
                                r"security (?:holes?|awareness)"),
    ("HTTP and TLS", "concept", r"https?|tls|ssl"),
    ("networking", "concept", r"networking|dns|tcp|udp"),
    ("the browser", "concept", r"browsers?|the dom|dom"),
    ("accessibility", "concept", r"accessib\w*|wcag|screen readers?|keyboard navigation"),
    ("web performance", "concept", r"web performance|core web vitals|bundle size|rendering performance"),
    ("system design", "concept", r"system design|scal(?:e|es|ing|ability)|architecture"),
    ("containers", "concept", r"containers?|virtual machines?|docker"),
    ("Kubernetes", "tool", r"kubernetes|k8s"),
    ("cloud platforms", "tool", r"aws|gcp|azure|google cloud"),
    ("infrastructure as code", "concept", r"infrastructure as code|terraform|pulumi"),
    ("CI/CD", "concept", r"ci/cd|ci|continuous (?:integration|delivery|deployment)|canar(?:y|ies)|release safety"),
    ("feature flags", "concept", r"feature[- ]flags?"),
    ("observability", "concept", r"observability|monitoring|logging|logs|tracing|alerting|alerts"),
    ("SLOs", "concept", r"slos?|slis?|error budgets?|service level objectives?"),
    ("incident response", "concept", r"on-?call|incidents?|outages?|postmortems?|post-mortems?|paged"),
    ("automation", "concept", r"automat\w*|toil"),
    ("Python", "tool", r"python"),
    ("Go", "tool", r"golang|go(?= services| preferred|,)|goroutines?"),
    ("Java", "tool", r"java(?!script)"),
    ("JavaScript/TypeScript", "tool", r"javascript|typescript|js"),
    ("React", "tool", r"react"),
    ("CSS and design systems", "tool", r"css|design systems?|component library|storybook"),
    ("state management", "tool", r"redux|state management"),
    ("Scala", "tool", r"scala"),
    ("Rust", "tool", r"rust"),
    ("Spark", "tool", r"spark|pyspark|databricks"),
    ("Kafka", "tool", r"kafka|kinesis|pub/sub"),
    ("Airflow", "tool", r"airflow|dagster|prefect|orchestration"),
    ("dbt", "tool", r"dbt"),
    ("Snowflake", "tool", r"snowflake|bigquery|redshift"),
    ("Prometheus/Grafana", "tool", r"prometheus|grafana|loki|datadog"),
    ("Linux", "tool", r"linux|unix"),
    ("PyTorch", "tool", r"pytorch|tensorflow|jax"),
    ("MLflow", "tool", r"mlflow|kubeflow|sagemaker"),
    ("Excel", "tool", r"excel|spreadsheets?"),
    ("BI dashboards", "tool", r"tableau|looker|power bi|dashboards?"),
    ("Salesforce", "tool", r"salesforce|hubspot|crm"),
    # machine learning and statistics
    ("machine learning", "concept", r"machine learning|ml|models? (?:training|evaluation)|train(?:ing)? models?"),
    ("model deployment", "concept", r"deploy\w* (?:a |the )?(?:trained )?models?|models? to production|"
                                    r"model serving|serving models|inference|productionis\w*|mlops"),
    ("model monitoring and drift", "concept", r"(?:data |concept )?drift"),
    ("overfitting and validation", "concept", r"overfitting|bias-variance|cross-validation|validation sets?|"
                                              r"train(?:ing)?, validation|regulari[sz]ation"),
    ("class imbalance", "concept", r"class imbalance|imbalanced|rare positives?"),
    ("data leakage", "concept", r"(?:data )?leakage"),
    ("evaluation metrics", "concept", r"precision|recall|f1|roc|auc|rmse|mae|evaluation metrics"),
    ("LLMs", "concept", r"llms?|large language models?|fine-tun\w*|lora|qlora|prompting|hallucinat\w*"),
    ("retrieval and embeddings", "concept", r"retrieval-augmented|rag|embeddings?|vector search|semantic search"),
    ("transformers", "concept", r"transformers?|self-attention|attention"),
    ("recommendation systems", "concept", r"recommend(?:ation|er)s?(?: systems?| models?| service)?"),
    ("responsible AI", "concept", r"responsible[- ]ai|fairness|unfair|bias in models?"),
    ("statistics", "concept", r"statistic\w*|p-values?|confidence intervals?|hypothes[ie]s|"
                              r"significan\w*|regression|sample size|power"),
    ("A/B testing", "concept", r"a/b tests?|a/b testing|experiments?|experimentation|split tests?"),
    ("causal inference", "concept", r"causal\w*|difference-in-differences|randomi[sz]\w*|causes?"),
    ("sequential testing", "concept", r"peeking|sequential testing"),
    ("multiple comparisons", "concept", r"multiple[- ]comparisons?|multiple testing"),
    ("forecasting", "concept", r"forecast\w*"),
    # product and analysis
    ("metrics", "concept", r"metrics?|kpis?|north[- ]star"),
    ("retention and churn", "concept", r"retention|churn|retain\w*|cohorts?"),
    ("conversion and funnels", "concept", r"conversion|funnels?|activation|sign-?ups?"),
    ("onboarding", "concept", r"onboarding"),
    ("campaign analysis", "concept", r"(?:marketing |email |ad )?campaigns?|attribution|uplift|lift"),
    ("root-cause analysis", "concept", r"investigat\w*|diagnos\w*|root cause|find (?:out )?(?:the )?causes?"),
    ("roadmaps and prioritisation", "concept", r"roadmaps?|feature requests|backlog"),
    ("user research", "concept", r"user research|customer interviews|discovery|usability"),
    ("product requirements", "concept", r"product requirements?|requirements documents?|prds?|specs"),
    ("pricing", "concept", r"pricing|packaging|premium tier|price"),
    ("go-to-market", "concept", r"go-to-market|plan launches|launch plans?|product launch(?:es)?"),
    ("goals and OKRs", "concept", r"okrs?|goal-setting|set goals"),
    ("stakeholder management", "concept", r"stakeholders?|executives?|leadership team"),
    ("B2B and enterprise customers", "concept", r"b2b|saas|enterprise customers?|strategic customers?"),
    ("technical debt", "concept", r"technical debt|tech debt|legacy"),
    ("estimation", "concept", r"estimat\w*"),
    # people leadership
    ("hiring", "concept", r"hir(?:e|es|ing)|recruit\w*|interview(?:ing)? candidates"),
    ("one-on-ones", "concept", r"one-on-ones?|1:1s?|1-on-1s?"),
    ("giving feedback", "concept", r"feedback"),
    ("performance management", "concept", r"performance management|underperform\w*|performance reviews?|"
                                          r"let someone go"),
    ("mentoring and career growth", "concept", r"mentor\w*|coach\w*|career|grow(?:ing)? (?:engineers|people)|"
                                               r"support student"),
    ("technical direction", "concept", r"technical direction|technical strategy|architecture decisions?"),
    ("building teams", "concept", r"build(?:ing)? (?:a |the )?teams?|team from scratch"),
    ("organisational change", "concept", r"reorg\w*|organi[sz]ational change|pivot"),
    ("burnout and wellbeing", "concept", r"burn(?:ing)?[- ]?out|wellbeing|morale"),
    ("remote teams", "concept", r"remote|distributed teams?|time zones"),
    ("inclusion", "concept", r"inclusi\w*|diversity|bias in hiring"),
    ("delivery and deadlines", "concept", r"deadlines?|deliver(?:y|ing)? (?:on )?(?:time|commitments)|"
                                          r"meet(?:ing)? commitments"),
    # other jobs (named so a description for them is answered honestly)
    ("sales and prospecting", "concept", r"sales cycle|prospecting|cold calls?|pipeline generation|"
                                         r"closing (?:deals|experience)|close deals|sales quotas?|"
                                         r"hit(?:ting)? (?:a |the )?(?:quarterly )?quota"),
    ("negotiation", "concept", r"negotiat\w*|objections"),
    ("product demos", "concept", r"demos?|discovery calls?"),
    ("coffee and drinks", "concept", r"espresso|latte|barista|pour-overs?|coffee drinks|drinks"),
    ("cash handling", "concept", r"cash|till|card payments"),
    ("food safety and hygiene", "concept", r"food hygiene|food safety|allergens?|hygiene"),
    ("patient care", "concept", r"patients|patient care|nursing|clinical|vital signs|medication|wards?|surgery"),
    ("infection control", "concept", r"infection (?:prevention|control)"),
    ("confidential records", "concept", r"confidential\w*|records"),
    # behaviour: every job asks for these, and the bank's general questions test them
    ("customer service", "soft", r"customer service|customer complaints?|complaints?|greet\w*|hospitality"),
    ("teamwork", "soft", r"team ?work|team player|part of a (?:small )?team|collaborat\w*"),
    ("communication", "soft", r"communicat\w*|present(?:ation|ing)?s?|explain\w*"),
    ("working under pressure", "soft", r"pressure|calm\w*|stress\w*|rush|busy"),
    ("prioritising", "soft", r"prioriti[sz]\w*|time management|multitask\w*"),
    ("reliability", "soft", r"reliab\w*|punctual\w*|dependab\w*"),
    ("motivation", "soft", r"self-motivated|motivat\w*|resilien\w*|competitive|driven|passion\w*"),
    ("care and empathy", "soft", r"compassion\w*|empath\w*|kind(?:ness)?|friendly|warm welcome"),
    ("attention to detail", "soft", r"attention to detail|eye for (?:design and )?detail|detail-oriented|accurate\w*"),
    ("adaptability", "soft", r"adaptab\w*|flexib\w*|learn quickly|ambiguity"),
)
SKILL_KINDS = {s.name: s.kind for s in SKILLS}

# what the roles the bank has no questions of its own for are interviewed on (rubric.ROLE_CHOICES): without a
# job description, their sessions sample only the questions that match this (and role-neutral ones)
ROLE_FOCUS = {
    "backend engineer": "Design backend services and REST APIs\nDatabases, SQL, indexes and transactions\n"
    "Caching, rate limiting and distributed systems\nConcurrency: threads, locks and race conditions\n"
    "Debug latency and memory problems in production\nTesting and code review\nSecurity: injection and passwords",
    "frontend engineer": "How the browser works: the DOM, HTTP and TLS\nJavaScript, async code and the event loop\n"
    "Accessibility for screen readers and keyboards\nWeb security: XSS, CSRF and OAuth login\n"
    "Unit, integration and end-to-end tests\nDesign REST APIs for the front end",
    "data engineer": "SQL, joins and window functions\nData modelling and normalisation\n"
    "Design data pipelines for ingestion, logging and metrics\nData quality and deduplication\n"
    "Relational databases, indexes, transactions and isolation levels\nIdempotent jobs and safe retries\n"
    "Distributed job scheduling",
}

# what a phrase is not a requirement for: pay, perks, hours and credentials, the company's own blurb
_DROP = re.compile(
    r"salary|benefits?|pension|holiday|vacation|401k|insurance|perks|discount|equity|stock options|bonus|"
    r"\bote\b|commission|free drinks|tips|equal opportunit|we offer|apply|visa|relocation|hybrid working|"
    r"office|paid training|\$\s?\d|£\s?\d|€\s?\d|^(?:we are|we're|join|about (?:us|you)|our mission)\b",
    re.I,
)
_CREDENTIAL = re.compile(r"\d+\+? years|degree|certificat\w*|registration|licen[cs]e|qualification", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•·▪◦–—]|\d+[.)])\s*")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z(])")


def find_skills(text: str) -> tuple[str, ...]:
    """The vocabulary's skills named in `text`, in vocabulary order."""
    return tuple(s.name for s in SKILLS if s.pattern.search(text))


@dataclass(frozen=True)
class Requirement:
    """One thing the description asks for: a bullet or sentence, and the named skills in it."""

    text: str
    skills: tuple[str, ...]

    @property
    def soft(self) -> bool:
        """True when it asks only for behaviour any job needs (teamwork, calm under pressure, ...)."""
        hard = [s for s in self.skills if SKILL_KINDS[s] != "soft"]
        return bool(self.skills) and not hard

    @property
    def hard_skills(self) -> tuple[str, ...]:
        return tuple(s for s in self.skills if SKILL_KINDS[s] != "soft")


def requirements(description: str) -> list[Requirement]:
    """The description's requirement phrases: its bullets and sentences, without headings, the title, pay,
    perks, credentials or the company's blurb (kept when they name a skill)."""
    out: list[Requirement] = []
    lines = [_BULLET.sub("", line).strip() for line in description.splitlines()]
    lines = [line for line in lines if line]
    for n, line in enumerate(lines):
        for part in _SENTENCE.split(line):
            part = part.strip(" \t-–—:;,.")
            words = part.split()
            skills = find_skills(part)
            if not words or (line.endswith(":") and len(words) <= 6):
                continue  # a heading ("What you'll do:")
            if n == 0 and len(words) <= 8 and not re.search(r"[.!?]$", line):
                continue  # the title: the role is chosen in the set-up, and "Barista" matches "coffee shop" questions
            if _DROP.search(part) and not (skills and not _DROP.match(part)):
                continue
            if _CREDENTIAL.search(part) and not [s for s in skills if SKILL_KINDS[s] != "soft"]:
                continue
            if len(words) <= 4 and not skills and not re.search(r"[.!?]$", part):
                continue  # a heading without a colon ("What you'll do", "About you")
            out.append(Requirement(part, skills))
    return out


class BankIndex:
    """The question side of matching, embedded once per process and shared read-only by every user.

    Each question is one unit vector: its text's vector plus the mean of its key points' vectors (the key points
    name the skills a question tests). The app builds it in the background at start-up, before the scorer's
    larger cache of ideal answers, so the first job description is matched within seconds; tests pass a cheap
    `embed` function instead of MiniLM.
    """

    def __init__(self, bank: Sequence[Question], embed: Embed | None = None):
        self.bank = list(bank)
        self._embed = embed
        self._lock = threading.Lock()
        self._vectors: np.ndarray | None = None
        self._row = {q.question_id: i for i, q in enumerate(self.bank)}
        self._skills = {q.question_id: frozenset(find_skills(f"{q.text} {' '.join(q.key_points)}")) for q in self.bank}

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of texts, one row each."""
        if self._embed is None:
            from interviewmate.scoring import get_embedder

            return np.asarray(get_embedder().encode(texts, batch=32), dtype=np.float32)
        return _unit(np.asarray(self._embed(texts), dtype=np.float32))

    def vectors(self) -> np.ndarray:
        """One unit vector per bank question (built on first use, under a lock: concurrent starts wait once)."""
        with self._lock:
            if self._vectors is None:
                t0 = time.perf_counter()
                self._vectors = self._build(self.bank)
                logger.info("question bank embedded for matching in %.1f s", time.perf_counter() - t0)
            return self._vectors

    def warm(self) -> None:
        self.vectors()

    def _build(self, questions: Sequence[Question]) -> np.ndarray:
        text = self.embed([q.text for q in questions])
        points = [k for q in questions for k in q.key_points]
        kp = self.embed(points) if points else np.zeros((0, text.shape[1]), np.float32)
        out, start = text.copy(), 0
        for i, q in enumerate(questions):
            if q.key_points:
                out[i] += kp[start : start + len(q.key_points)].mean(0)
                start += len(q.key_points)
        return _unit(out)

    def rows(self, questions: Sequence[Question]) -> np.ndarray:
        """The vectors of `questions` (bank questions; others are embedded now)."""
        vectors = self.vectors()
        known = [self._row.get(q.question_id) for q in questions]
        if all(i is not None for i in known):
            return vectors[known]
        return np.stack(
            [vectors[i] if i is not None else self._build([q])[0] for q, i in zip(questions, known, strict=True)]
        )

    def skills(self, q: Question) -> frozenset[str]:
        return self._skills.get(q.question_id) or frozenset(find_skills(f"{q.text} {' '.join(q.key_points)}"))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


@dataclass
class Match:
    """How well one question fits the description: its score, level, and what in the description it matches."""

    question: Question
    score: float
    level: str
    requirement: str  # the description's phrase it matches best
    skills: tuple[str, ...]  # the named skills it shares with that phrase (may be empty)
    job_skill: bool  # it tests a skill of the job itself, not only behaviour any job asks for

    def because(self) -> str:
        """What it matches, in words: the shared skills, else the phrase of the description."""
        named = [s for s in self.skills if SKILL_KINDS[s] != "soft"] if self.job_skill else list(self.skills)
        if named:
            return _join(named)
        return f"“{clip(self.requirement, 60)}”"


@dataclass
class MatchReport:
    """Every candidate ranked against one description, and what the description asks for that the bank covers."""

    requirements: list[Requirement]
    matches: list[Match]  # best first, soft-only matches included
    covered: list[str] = field(default_factory=list)  # named hard skills some candidate tests
    missing: list[str] = field(default_factory=list)  # named hard skills no bank question tests
    unmet: list[str] = field(default_factory=list)  # what it asks for with no strong match: skills, else phrases
    soft: list[str] = field(default_factory=list)  # behaviour it asks for (general questions test these)
    fitting: int = 0  # candidates that test a skill of the job itself at STRONG

    def little_fits(self, n: int) -> bool:
        """True when fewer than min(n, MIN_FITTING) candidates are strong matches on the job's own skills (not
        only on behaviour any job asks for): a sales job matched on "forecasting" alone is not a fit."""
        return self.fitting < min(n, MIN_FITTING)

    def top(self, n: int, pool: Sequence[Question] | None = None) -> list[Match]:
        """The n best matches (within `pool` when given), spread over the description's phrases: each earlier
        pick on the same phrase costs REUSE_PENALTY, so one bullet cannot fill the interview."""
        allowed = None if pool is None else {q.question_id for q in pool}
        left = [m for m in self.matches if allowed is None or m.question.question_id in allowed]
        used: dict[str, int] = {}
        chosen: list[Match] = []
        while left and len(chosen) < n:
            best = max(left, key=lambda m: m.score - REUSE_PENALTY * used.get(m.requirement, 0))
            chosen.append(best)
            left.remove(best)
            used[best.requirement] = used.get(best.requirement, 0) + 1
        return chosen


def match_description(description: str, candidates: Sequence[Question], index: BankIndex) -> MatchReport:
    """Score every candidate against the description's requirements (see the module docstring)."""
    reqs = requirements(description)
    if not reqs:
        whole = " ".join(description.split())
        reqs = [Requirement(whole, find_skills(whole))] if whole else []
    if not reqs or not candidates:
        return MatchReport(reqs, [])
    matches = _score(reqs, list(candidates), index)
    asked = list(dict.fromkeys(s for r in reqs for s in r.hard_skills))
    strong_on = {s for m in matches if m.level == STRONG and m.job_skill for s in m.skills}
    tested = set().union(*(index.skills(q) for q in index.bank))
    near = {m.requirement for m in matches if m.level != WEAK}
    unnamed = [f"“{clip(r.text, 50)}”" for r in reqs if not r.skills and r.text not in near]
    return MatchReport(
        requirements=reqs,
        matches=matches,
        covered=[s for s in asked if s in tested],
        missing=[s for s in asked if s not in tested],
        unmet=[s for s in asked if s not in strong_on] + unnamed,
        soft=list(dict.fromkeys(s for r in reqs for s in r.skills if SKILL_KINDS[s] == "soft")),
        fitting=sum(1 for m in matches if m.level == STRONG and m.job_skill),
    )


def _score(reqs: list[Requirement], questions: list[Question], index: BankIndex) -> list[Match]:
    """Every question's best match among the requirements, best first."""
    sims = index.embed([r.text for r in reqs]) @ index.rows(questions).T  # phrases x questions
    q_skills = [index.skills(q) for q in questions]
    shared = [[tuple(s for s in r.skills if s in qs) for qs in q_skills] for r in reqs]
    bonus = np.array([[min(MAX_SKILL_BONUS, SKILL_BONUS * len(common)) for common in row] for row in shared])
    scores = sims + bonus
    # a match tests the job's own skill when it shares a named skill of the job with the phrase, or when the
    # phrase names no skill at all and the wording alone is a strong match
    tests_job = np.array([[any(SKILL_KINDS[s] != "soft" for s in shared[i][j]) or (not r.skills and sims[i, j]
                           >= STRONG_AT) for j in range(len(questions))] for i, r in enumerate(reqs)])  # fmt: skip
    matches = []
    for j, q in enumerate(questions):
        # the best phrase it tests a job skill of, unless a behaviour phrase is clearly closer
        job = np.where(tests_job[:, j], scores[:, j], -np.inf)
        i_any = int(np.argmax(scores[:, j]))
        i_job = int(np.argmax(job))
        i = i_job if np.isfinite(job[i_job]) and job[i_job] >= scores[i_any, j] - 0.05 else i_any
        score = float(scores[i, j])
        matches.append(Match(q, score, level(score), reqs[i].text, shared[i][j], bool(tests_job[i, j])))
    matches.sort(key=lambda m: -m.score)
    return matches


def level(score: float) -> str:
    return STRONG if score >= STRONG_AT else PARTIAL if score >= PARTIAL_AT else WEAK


def clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _join(items: Sequence[str], limit: int = 4, word: str = "and") -> str:
    """"a, b and c"; past `limit` items, "a, b and 3 more"."""
    items = list(items)
    if len(items) > limit:
        items = items[:limit] + [f"{len(items) - limit} more"]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def statement(report: MatchReport, chosen: Sequence[Match], fallback: bool) -> str:
    """What the user is told about the match, in plain words (Markdown-free; the renderer escapes it)."""
    if fallback:
        line = "Little in the question bank fits this job description"
        if report.unmet:
            line += f": no question tests {_join(report.unmet, 3, 'or')}"
        line += ". You get general interview questions instead"
        line += f", closest first to what it says about {_join(report.soft, 3)}." if report.soft else "."
        return line
    good = [m for m in chosen if m.level != WEAK and m.job_skill]
    skills = list(dict.fromkeys(s for m in good for s in m.skills))
    count = "All" if len(good) == len(chosen) else f"{len(good)} of the"
    line = f"{count} {len(chosen)} questions test skills your job description asks for"
    line += f": {_join(skills, 6)}." if skills else "."
    rest = len(chosen) - len(good)
    if rest:
        line += f" The other {rest} {'is' if rest == 1 else 'are'} the closest the bank has."
    if report.missing:
        line += f" The bank has no questions on {_join(report.missing, 5)}."
    return line
