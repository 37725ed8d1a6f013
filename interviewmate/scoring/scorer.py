"""The `Scorer`: content and delivery sub-scores from the evidence, combined per kind of question, calibrated to
the 1-10 scale, with gates for answers that say nothing, and the criteria.

How a score is made (every number below lives in the scorer file, `interviewmate/scorer.json`):
1. Signals. Content: how much of the ideal answer's and key points' substance the answer states (sentence
   similarity to the ideal answer, coverage of its sentences, share of its own words stated, key points
   covered). Delivery: structure, specifics, ownership and clarity from the evidence spans. Every signal is
   standardised with its train mean and spread and clipped to +/-3, so no missing or extreme value can
   dominate; a question without an ideal answer uses the no-reference content signals instead of zeros.
2. Sub-scores. Each is the plain mean of its standardised signals (unit weights, signs fixed by hand: an
   "improper linear model", which transfers better than weights fitted to one data set's style).
3. Combination. overall = w_content * content + w_delivery * min(delivery, content + headroom), with weights per
   kind of question (knowledge, story, no reference, follow-up) chosen on the validation split; delivery cannot
   carry an answer far past what it says.
4. Calibration. A monotone (isotonic) map from the combination to 1-10, fitted on train answers; the likely
   range comes from train residuals.
5. Gates. An answer whose sentences only echo the question, restate key points or describe an answer gets at
   most 2 or 3; one that fits another bank question clearly better is capped at 4; off-topic at 2.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from interviewmate.questions import FOLLOW_UP, Question
from interviewmate.rubric import CRITERIA, STAR_PARTS
from interviewmate.scoring.abstain import abstain_reason
from interviewmate.scoring.analysis import Analysis, analyze
from interviewmate.scoring.bank import ReferenceBank

SCORER_PATH = Path(__file__).resolve().parent.parent / "scorer.json"
REFIT_COMMAND = "python -m interviewmate.scoring fit"
FORMAT_VERSION = 2
CLIP_Z = 3.0

# signal -> sign (+1: more is better, -1: less is better); each sub-score averages sign * z over its signals.
# Content is what the answer says: for a knowledge question, the ideal answer's and key points' substance; for a
# story, the concrete details of a real event (names, tools, numbers) and the key points. Delivery is how it is
# said: structure, ownership and reflection for a story, and for every answer the absence of hedges and fillers.
CONTENT_SIGNALS = {
    "knowledge": {"ideal_similarity": 1, "substance_recall": 1, "key_point_words": 1, "abstract": -1},
    "story": {
        "ideal_similarity": 1,
        "substance_recall": 1,
        "key_point_words": 1,
        "concrete": 1,
        "numbers": 1,
        "abstract": -1,
    },
}
CONTENT_SIGNALS_NO_REFERENCE = {
    "knowledge": {"concrete": 1, "abstract": -1},
    "story": {"concrete": 1, "numbers": 1, "abstract": -1},
}
DELIVERY_SIGNALS = {
    "story": {
        "owned_actions": 1,
        "star_parts": 1,
        "result": 1,
        "reflection": 1,
        "hedges": -1,
        "fillers": -1,
        "vague": -1,
        "generic": -1,
        "deflections": -1,
    },
    "knowledge": {"concrete": 1, "numbers": 1, "hedges": -1, "fillers": -1, "vague": -1, "generic": -1},
}
DELIVERY_EVIDENCE_WORDS = 50  # below this many words, delivery counts in proportion (too little text to judge it)
MODES = ("knowledge", "story", "no_reference", "follow_up")


def style_of(question: Question) -> str:
    """ "story" for questions answered with a story (not follow-ups), else "knowledge"."""
    return "story" if question.is_story else "knowledge"


def mode_of(question: Question) -> str:
    """Which combination applies: a follow-up, a question without reference, or a bank question by category."""
    if question.kind == FOLLOW_UP:
        return "follow_up"
    if not question.has_reference:
        return "no_reference"
    return "story" if question.is_story else "knowledge"


def _sat(x: float, cap: float) -> float:
    return min(float(x), cap) / cap


def signals(a: Analysis, question: Question) -> dict[str, float]:
    """Raw signals of one analysis (before standardisation). Rates are per word, counts saturate."""
    words = max(1, a.word_count)
    s: dict[str, float] = {}
    if a.ideal_similarity is not None:
        s["ideal_similarity"] = a.ideal_similarity
        s["ideal_coverage"] = a.ideal_coverage or 0.0
        s["substance_recall"] = a.substance_recall or 0.0
        s["substance_precision"] = a.substance_precision or 0.0
    if a.key_point_scores:
        s["key_points"] = float(np.mean(a.key_point_scores))
        s["key_point_words"] = float(np.mean(a.key_point_words))
    s["relevance"] = a.relevance
    s["relevance_floor"] = min(a.relevance, 0.45)  # past the floor, closeness to the question is not quality
    if a.question_contrast is not None:
        s["question_contrast"] = min(a.question_contrast, 0.1)
    # specifics per length, saturating: one number per 40 words or one detail per 15 is full marks, so a tight
    # answer is as specific as a long one with the same density, and padding dilutes instead of adding
    s["numbers"] = min(1.0, len(a.numbers) * 40 / max(words, 40))
    s["concrete"] = min(1.0, len(a.details) * 15 / max(words, 30))
    s["owned_actions"] = _sat(len(a.owned_actions), 4)
    s["star_parts"] = sum(1 for p in STAR_PARTS if a.star[p]) / 4
    s["result"] = float(bool(a.star["result"]))
    s["reflection"] = float(bool(a.reflection))
    s["hedges"] = min(0.2, a.hedge_count / words)
    s["fillers"] = min(0.2, a.filler_count / words)
    s["vague"] = min(0.2, a.vague_count / words)
    s["generic"] = min(0.2, a.generic_count / words)
    s["deflections"] = _sat(len(a.deflections), 2)
    s["abstract"] = len(a.abstract) / max(1, len(a.sentences))
    return s


@dataclass
class ScoreResult:
    """A score or an abstention. Sub-scores are on 0-10; `band` is the likely range of the true score."""

    scored: bool
    reason: str | None
    score: int | None = None
    criteria: dict[str, int] = field(default_factory=dict)
    content: float | None = None
    delivery: float | None = None
    band: tuple[int, int] | None = None
    raw: float | None = None  # the continuous score before rounding (orders ties)
    mode: str = ""
    flags: list[str] = field(default_factory=list)  # off_topic, near_topic, no_content, injection_removed, ...
    analysis: Analysis | None = None

    def to_dict(self) -> dict:
        analysis, self.analysis = self.analysis, None
        try:
            out = asdict(self)
        finally:
            self.analysis = analysis
        out["analysis"] = analysis.to_dict() if analysis is not None else None
        return out


class ScorerFileError(RuntimeError):
    """The scorer file is missing or unreadable; the message names the file and the refit command."""


def _interp(x: float, curve: dict) -> float:
    return float(np.interp(x, curve["x"], curve["y"]))


class Scorer:
    """Content and delivery sub-scores, combined and calibrated; every parameter lives in one JSON file."""

    def __init__(self, params: dict):
        self.params = params
        # per style ("story", "knowledge"): signal -> (train mean, train spread)
        self.norms: dict[str, dict[str, tuple[float, float]]] = {
            style: {k: tuple(v) for k, v in norms.items()} for style, norms in params["norms"].items()
        }
        self.kp_threshold = float(params["kp_threshold"])
        self.bank = ReferenceBank.from_params(params["bank"]) if params.get("bank") else None
        self.combine: dict[str, dict] = params["combine"]
        self.gates: dict = params["gates"]
        spec = params.get("signals", {})
        self.content_signals: dict[str, int] = spec.get("content", CONTENT_SIGNALS)
        self.content_signals_no_reference: dict[str, int] = spec.get(
            "content_no_reference", CONTENT_SIGNALS_NO_REFERENCE
        )
        self.delivery_signals: dict[str, dict[str, int]] = spec.get("delivery", DELIVERY_SIGNALS)

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
                got = params.get("format_version") if isinstance(params, dict) else type(params).__name__
                raise ValueError(f"format_version {got!r}, expected {FORMAT_VERSION}")
            for mode in MODES:
                c = params["combine"][mode]
                if len(c["calibration"]["x"]) != len(c["calibration"]["y"]) or not c["calibration"]["x"]:
                    raise ValueError(f"calibration of {mode!r} is empty or uneven")
            for style in ("story", "knowledge"):
                for name, (mean, std) in params["norms"][style].items():
                    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
                        raise ValueError(f"norm of {name!r} ({style}) is not finite and positive")
            scorer = cls(params)
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

    # -- the parts
    def z(self, name: str, value: float, style: str) -> float:
        """A signal standardised against train answers of the same style, clipped to +/-3."""
        mean, std = self.norms[style][name]
        return float(np.clip((value - mean) / std, -CLIP_Z, CLIP_Z))

    def subscores(self, a: Analysis, question: Question) -> tuple[float, float]:
        """(content, delivery) as means of signed standardised signals."""
        s = signals(a, question)
        style = style_of(question)
        with_ref = question.has_reference and "ideal_similarity" in s
        spec = (self.content_signals if with_ref else self.content_signals_no_reference)[style]
        spec = {n: v for n, v in spec.items() if n in s}
        content = float(np.mean([sign * self.z(n, s[n], style) for n, sign in spec.items()])) if spec else 0.0
        if a.content_sentences == 0:
            content = -CLIP_Z  # nothing but echoes, restatements or descriptions: no substance at all
        spec = self.delivery_signals[style]
        delivery = float(np.mean([sign * self.z(n, s[n], style) for n, sign in spec.items()]))
        return content, delivery

    def combined(self, content: float, delivery: float, mode: str, words: int = DELIVERY_EVIDENCE_WORDS) -> float:
        """The weighted mean of content and delivery, delivery capped at content + headroom and weighted in
        proportion to the evidence (a 20-word answer shows little delivery to judge)."""
        c = self.combine[mode]
        capped = min(delivery, content + c["headroom"])
        w_d = c["w_delivery"] * min(1.0, words / DELIVERY_EVIDENCE_WORDS)
        return (c["w_content"] * content + w_d * capped) / (c["w_content"] + w_d)

    @staticmethod
    def to_ten(z: float) -> float:
        """A standardised sub-score on 0-10 for display (0 = 2.5 spreads below the train mean, 10 = 2.5 above)."""
        return round(float(np.clip(5 + 2 * z, 0, 10)), 1)

    def gate(self, a: Analysis, question: Question, content: float) -> tuple[float | None, list[str]]:
        """The cap an answer's evidence imposes (None: none) and the flags that explain it."""
        g, flags = self.gates, []
        cap = None
        n = max(1, len(a.sentences))
        not_counted = len(a.echoes) + len(a.described)
        if a.content_sentences == 0:
            flags.append("no_content")
            cap = g["no_content_cap"]
        elif not_counted / n >= 0.5:
            flags.append("mostly_described")
            cap = g["mostly_described_cap"]
        elif len(a.abstract) / n >= 0.5:
            flags.append("mostly_abstract")
            cap = g["mostly_abstract_cap"]
        # the reference outranks the question's wording: an answer closer to its own ideal answer than to any other,
        # or one that covers a key point, is on topic however few words it shares with the question
        backed = bool(a.key_points_covered) or (a.ideal_contrast is not None and a.ideal_contrast >= 0)
        if (
            a.relevance < g["off_topic_relevance"]
            and (a.question_contrast is None or a.question_contrast < 0)
            and not backed
        ):
            flags.append("off_topic")
            cap = min(cap or 10, g["off_topic_cap"])
        elif (  # a story question's ideal answer is one story of many: being unlike it counts only when the answer
            # also says little about the question itself
            (style_of(question) == "knowledge" or a.relevance < g["story_near_topic_relevance"])
            and a.ideal_contrast is not None
            and a.ideal_contrast < g["near_topic_contrast"]
            and not a.key_points_covered
        ):
            flags.append("near_topic")
            cap = min(cap or 10, g["near_topic_cap"])
        return cap, flags

    def criteria_raw(self, a: Analysis, question: Question, content: float, overall: float) -> dict[str, float]:
        """Criteria before their curves: relevance from content; communication from the clarity signals and the
        overall level; specificity from numbers, names and content; structure from the STAR evidence (stories)."""
        s, style = signals(a, question), style_of(question)
        clarity = -float(np.mean([self.z(n, s[n], style) for n in ("hedges", "fillers", "vague")]))
        specific = float(np.mean([self.z(n, s[n], style) for n in ("numbers", "concrete")] + [content]))
        structure = overall
        if style == "story":
            parts = [self.z("star_parts", s["star_parts"], style), self.z("result", s["result"], style), overall]
            structure = float(np.mean(parts))
        return {
            "relevance": content,
            "structure": structure,
            "specificity": specific,
            "communication": 0.5 * clarity + 0.5 * overall,
        }

    def criteria(self, a: Analysis, question: Question, content: float, overall: float) -> dict[str, int]:
        """Criteria 1-5, each raw value mapped by a monotone curve fitted on train criteria."""
        raw, curves = self.criteria_raw(a, question, content, overall), self.params["criteria"]
        return {c: int(np.clip(round(_interp(raw[c], curves[c])), 1, 5)) for c in CRITERIA}

    # -- scoring
    def score(self, answer: str, question: Question) -> ScoreResult:
        """Score one answer: an integer 1-10, criteria 1-5 and two sub-scores, or `scored=False` with the reason."""
        reason = abstain_reason(answer, question)
        if reason:
            return ScoreResult(scored=False, reason=reason)
        a = analyze(answer, question, kp_threshold=self.kp_threshold, bank=self.bank)
        mode = mode_of(question)
        content, delivery = self.subscores(a, question)
        c = self.combine[mode]
        overall = _interp(self.combined(content, delivery, mode, a.word_count), c["calibration"])
        cap, flags = self.gate(a, question, content)
        if a.injections:
            flags.append("injection_removed")
        if cap is not None and overall > cap:
            overall = float(cap)
        criteria = self.criteria(a, question, content, self.combined(content, delivery, mode, a.word_count))
        if cap is not None:
            criteria = {k: min(v, max(1, round(cap / 2))) for k, v in criteria.items()}
        score = int(np.clip(round(overall), 1, 10))
        lo, hi = c["band"]
        band = (int(np.clip(math.floor(overall + lo), 1, score)), int(np.clip(math.ceil(overall + hi), score, 10)))
        return ScoreResult(
            True, None, score, criteria, self.to_ten(content), self.to_ten(delivery), band, overall, mode, flags, a
        )
