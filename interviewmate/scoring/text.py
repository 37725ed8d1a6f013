"""Text pieces of the scorer: sentences with offsets, words, content words, and the lexicons (fillers, hedges,
action verbs, tools, numbers, STAR cues, reflection, grader-directed sentences) with their regular expressions.

Pure functions over strings; no model, no numbers fitted on data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS


@dataclass(frozen=True)
class Span:
    """A piece of the answer: character offsets into the original answer text, and the text itself."""

    start: int
    end: int
    text: str
    label: str = ""


_SENT_RE = re.compile(r"[^.!?\n]+(?:[.!?]+[\"')\]]*|\n|$)")


def split_sentences(text: str) -> list[Span]:
    """Sentences with their offsets (whitespace trimmed). A dot inside a token does not split: decimal points
    (2.5) and names like Next.js, Node.js or config.yaml."""
    protected = re.sub(r"(?<=\d)\.(?=\d)|(?<=\w)\.(?=[A-Za-z])", "\x00", text)  # same length: offsets hold
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

FILLERS = [
    "um", "umm", "uh", "uhh", "erm", "hmm", "you know", "i mean", "basically", "literally", "actually", "so yeah",
    "and stuff", "or whatever", "like i said", "stuff like that", "things like that", "you see", "just", "really",
    "very", "totally", "anyway",
]  # fmt: skip
HEDGES = [
    "i think", "i guess", "i suppose", "i believe", "i feel like", "maybe", "probably", "perhaps", "might",
    "i'm not sure", "i am not sure", "not sure", "kind of", "sort of", "hopefully", "somewhat", "more or less",
    "i'd say", "pretty much", "to be honest", "honestly", "it depends",
]  # fmt: skip
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
    "interviewed", "synthesised", "synthesized", "mapped", "segmented", "queried", "dashboarded", "wired", "chose",
    "decided", "committed", "cancelled", "paused", "killed", "restructured", "wrote up", "flagged",
]  # fmt: skip
_VERB_ALT = _alternation(ACTION_VERBS)
_VERB_RE = re.compile(r"\b(?:" + _VERB_ALT + r")\b", re.IGNORECASE)
_OWNED_RE = re.compile(r"\bI\s+(?:\w+ly\s+|then\s+|also\s+|first\s+|quickly\s+)?(?:" + _VERB_ALT + r")\b")

TOOLS = [
    "python", "java", "scala", "kotlin", "rust", "c++", "c#", "javascript", "typescript", "react", "node.js",
    "sql", "postgres", "postgresql", "mysql", "sqlite", "redis", "kafka", "rabbitmq", "kubernetes", "k8s",
    "docker", "terraform", "ansible", "aws", "gcp", "azure", "s3", "ec2", "lambda", "spark", "airflow", "dbt",
    "snowflake", "bigquery", "redshift", "pandas", "numpy", "pytorch", "tensorflow", "scikit-learn", "sklearn",
    "xgboost", "lightgbm", "jira", "slack", "figma", "amplitude", "mixpanel", "looker", "tableau", "excel",
    "grafana", "prometheus", "datadog", "sentry", "pagerduty", "jenkins", "github", "gitlab", "git", "graphql",
    "grpc", "rest", "cdn", "dns", "tls", "oauth", "jwt", "elasticsearch", "cassandra", "dynamodb", "mongodb",
    "memcached", "nginx", "linux", "bash", "etl", "llm", "bert", "shap", "a/b test", "feature flag", "canary",
    "dashboard", "postmortem", "runbook", "design doc", "load balancer", "cache", "queue", "index", "sharding",
    "replica", "okr", "kpi", "sla", "slo", "p95", "p99", "api", "ci", "hadoop", "hive", "flink", "dask", "mlflow",
    "sagemaker", "vertex", "onnx", "cuda", "vllm", "lora", "embedding", "cohort", "funnel", "retention",
    "precision", "recall", "auc", "rmse", "regression", "confidence interval", "p-value", "power analysis",
]  # fmt: skip
_TOOL_RE = re.compile(r"(?<![\w-])(?:" + _alternation(TOOLS) + r")s?(?![\w-])", re.IGNORECASE)
_ACRONYM_RE = re.compile(r"\b(?:[A-Z]{2,6}s?|[A-Z][a-z]+[A-Z]\w*|[A-Za-z]+\d+[A-Za-z\d]*)\b")
_NOT_ACRONYM = {"I", "OK", "TV", "CEO", "CTO", "VP", "HR", "US", "UK", "EU", "AM", "PM"}

_NUMBER_WORDS = [
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "fifteen",
    "twenty", "thirty", "forty", "fifty", "sixty", "hundred", "hundreds", "thousand", "thousands", "million",
    "millions", "billion", "half", "twice", "double", "doubled", "tripled", "halved", "dozen", "quarter",
]  # fmt: skip
_UNITS = (
    r"%|percent|x|k|m|bn|ms|s|sec|secs|seconds|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|gb|mb|"
    r"tb|rps|qps|users|customers|people|engineers|points|pp"
)
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

_CAPITAL_RE = re.compile(r"(?<![:.!?]\s)(?<!^)\b[A-Z][a-z]+\b")  # capitalised, not opening a sentence or clause
_NOT_NAMES = frozenset(
    "situation task action result actions results first then finally next also however "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)


def proper_nouns(text: str) -> list[str]:
    """Capitalised words past the opening of a sentence or clause that are not function or STAR words: mostly names
    of people, products, companies and tools."""
    words = _CAPITAL_RE.findall(text.strip())
    return [w for w in words if w.lower() not in STOP_WORDS and w.lower() not in _NOT_NAMES]


# answers that talk about what one "would" or "always" does instead of what happened
_GENERIC_RE = re.compile(
    r"\b(?:I would|I'd|I always|I usually|I believe|it'?s important|in general|generally|usually|team player|"
    r"communication is key|I try to|I like to|I tend to|you have to|you need to|you should|it depends|"
    r"every situation|best practices?|hard ?working|passionate)\b",
    re.IGNORECASE,
)

# sentences that address the grader rather than the interviewer (prompt injection), or grade the answer itself
_GRADER = r"(?:grader|evaluator|examiner|assessor|marker|reviewer|scorer|ai|assistant|model|llm|judge)"
_INJECTION_RE = re.compile(
    r"(?:\bignore\b.{0,40}\b(?:instruction|rubric|rule|prompt|criteria|guideline|above|previous|prior)s?\b|"
    r"\bdisregard\b.{0,40}\b(?:instruction|rubric|rule|prompt|criteria|above|previous)s?\b|"
    r"\bforget\b.{0,30}\b(?:instruction|rubric|rule|prompt)s?\b|"
    r"\b(?:give|award|grade|score|rate|mark|assign)\b.{0,40}\b(?:10|ten|9|nine|\d+)\s*(?:/|out of)\s*(?:10|ten)\b|"
    r"\b(?:give|award|assign|merits?|deserves?|warrants?|earns?|worthy of)\b.{0,30}"
    r"\b(?:full|maximum|max|perfect|top|highest)\s+(?:score|marks?|points|grade|rating)s?\b|"
    r"\bfull marks\b|\b(?:10|ten)\s*(?:/|out of)\s*(?:10|ten)\b|"
    r"\byou are now\b|\bact as\b.{0,30}\b(?:grader|evaluator|assistant|model)\b|"
    r"\bas (?:the|an|a|my) (?:grader|evaluator|examiner|ai|assistant|language model|llm|scoring model)\b|"
    r"\b(?:the|dear) " + _GRADER + r"s?\b.{0,40}\b(?:must|should|will|shall|needs? to|has to|please)\b|"
    r"\b" + _GRADER + r"(?:'s)?\s+(?:note|comment|instruction)s?\b|\bnotes? (?:to|for) (?:the )?" + _GRADER + r"s?\b|"
    r"\b(?:this|my|the) (?:candidate(?:'s)? )?(?:answer|response)\b.{0,30}\b(?:deserves|merits|is (?:exemplary|"
    r"perfect|flawless|outstanding|excellent)|should (?:get|receive|be (?:scored|graded|rated)))\b|"
    r"\b(?:new|updated|override|system) (?:instructions?|prompt|rules?)\b|^\s*(?:system|assistant)\s*:|"
    r"\bscore\s*:\s*\d+\s*/\s*10\b|\bjailbreak\b|\bpretend (?:you|to be)\b|\bdeveloper mode\b)",
    re.IGNORECASE,
)


def injection_spans(text: str) -> list[Span]:
    """Sentences of `text` that instruct the grader or grade the answer; dropped before anything is computed."""
    return [Span(s.start, s.end, s.text, "injection") for s in split_sentences(text) if _INJECTION_RE.search(s.text)]


def remove_spans(text: str, spans: list[Span]) -> str:
    """`text` without `spans`, whitespace collapsed."""
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        out.append(text[pos : s.start])
        pos = s.end
    out.append(text[pos:])
    return " ".join("".join(out).split())


# ---------------------------------------------------------------- content words

# function words and the vocabulary every interview answer uses; what is left carries the answer's substance
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | frozenset(
    "i im ive id ill s t d ve re m ll don doesn didn isn wasn aren weren won can also just really very like would "
    "could might make made get got use used using one way thing things lot lots example answer question think "
    "know want need good great important able sure yes okay ok".split()
)
_STEMMER = snowballstemmer.stemmer("english")
# a word, a number, or a code-ish token (C++, C#, .NET, node.js); case-folded
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[+#]+|\.[a-z0-9]+)*")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def content_words(text: str) -> list[str]:
    """Stemmed, case-folded words of `text` without stop words: the unit of lexical overlap."""
    return [stem(t) for t in _TOKEN_RE.findall(text.lower()) if t not in STOP_WORDS and len(t) > 1]


# placeholder words: they stand in for specifics ("a significant challenge", "key stakeholders", "the metric").
# A sentence made mostly of them, with no concrete detail, says that something happened without saying what.
PLACEHOLDERS = frozenset(
    stem(w)
    for w in """
    challenge challenges challenging problem problems issue issues situation situations solution solutions plan plans
    approach approaches process processes stakeholder stakeholders metric metrics kpi kpis goal goals objective
    objectives initiative initiatives project projects outcome outcomes result results impact impacts feedback
    strategy strategies deliverable deliverables requirement requirements task tasks action actions leadership
    team teams everyone people person things thing stuff aspect aspects area areas value values success successful
    significant significantly key important importance effective effectively efficient efficiently positive
    positively negative great good better best high highly strong strongly clear clearly proactive proactively
    structured various multiple several overall improve improved improvement improvements increase increased
    reduce reduced achieve achieved deliver delivered delivery implement implemented implementation ensure ensured
    align aligned alignment communicate communicated communication collaborate collaborated collaboration work
    worked working handle handled manage managed management drive drove driven focus focused support supported
    analyse analysed analyze analyzed analysis identify identified address addressed help helped make made take
    took involved relevant necessary appropriate right best practice practices data driven mindset synergy
    synergies cross functional holistic scalable robust seamless stakeholder business company organisation
    organization role previous current time times way ways level levels lot lots learn learned learnt lesson
    lessons experience experiences skills skill responsible responsibility find finding found deadline deadlines
    tight pressure difficult difficulty complex complexity opportunity opportunities risk risks progress
    colleague colleagues manager managers client clients customer customers user users product products feature
    features resolve resolved resolution ownership owner own owned regular regularly gather gathered propose
    proposed execution execute executed timeline timelines milestone milestones root cause causes turn around
    check checkins buy expectations expectation vision mission culture growth needs need
    needed""".split()
)


def abstract(sentence: str) -> bool:
    """True for a sentence of placeholders: most of its content words stand in for specifics, and it names no
    number, tool or proper noun."""
    words = content_words(sentence)
    if len(words) < 3 or _NUMBER_RE.search(sentence) or _TOOL_RE.search(sentence) or proper_nouns(sentence):
        return False
    return sum(w in PLACEHOLDERS for w in words) / len(words) >= 0.6


# sentences that describe an answer instead of giving one ("I would explain the situation, my actions and the
# result"): a first-person (or "a good answer") frame, a verb of saying, then the parts of an answer
_SAYING = (
    r"(?:explain|describe|discuss|mention|talk about|walk (?:you |them )?through|outline|cover|highlight|"
    r"emphasi[sz]e|address|state|name|share|go (?:over|through)|touch on|clarify|present|detail|list|"
    r"define|compare|give|show|demonstrate|reflect on|summari[sz]e|elaborate on|focus on|make sure to)"
)
_ANSWER_PARTS = (
    r"(?:the (?:situation|context|background|task|actions?|results?|outcome|impact|trade-?offs?|"
    r"key (?:points?|concepts?|metrics?)|lessons?|learnings?|main (?:points?|options|steps)|"
    r"specific (?:steps|actions|examples?)|approach|steps|risks|metrics|details|stakes)|"
    r"my (?:actions?|role|approach|contribution|thought process|reasoning|learnings?)|"
    r"what (?:I|we) (?:did|learned|learnt|would do)|how I (?:would|handled|approached)|"
    r"(?:a|the|some) (?:concrete|specific|measurable|real|clear) (?:examples?|results?|outcomes?|"
    r"details?|numbers?|metrics?))"
)
DESCRIBED_RE = re.compile(
    r"\b(?:(?:I|we)(?:'d| would| will| can| could| should| am going to|'ll)?|a (?:good|strong|great|complete) "
    r"answer (?:would|should|will)|the answer (?:would|should))\s+(?:\w+ly\s+)?(?:first\s+|then\s+|also\s+)?"
    + _SAYING
    + r"\b[^.!?]{0,60}?\b"
    + _ANSWER_PARTS
    + r"\b",
    re.IGNORECASE,
)
