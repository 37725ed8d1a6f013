"""The offline answer scorer: evidence about an answer, content and delivery sub-scores, a calibrated 1-10 score.

Modules, one job each: `text` (sentences, content words, lexicons), `abstain` (when not to score), `embed` (the
sentence embedder and the question-side cache), `bank` (other questions, for contrast), `analysis` (evidence
about one answer), `scorer` (sub-scores, combination, calibration, gates, criteria) and `fit` (fitting the
scorer file, sklearn only, never imported at run time). `python -m interviewmate.scoring --help` for the CLI.
"""

from interviewmate.scoring.abstain import abstain_reason
from interviewmate.scoring.analysis import Analysis, analyze
from interviewmate.scoring.embed import get_embedder, reference, warm_references
from interviewmate.scoring.scorer import SCORER_PATH, Scorer, ScoreResult, ScorerFileError, mode_of
from interviewmate.scoring.text import Span, split_sentences

__all__ = [
    "SCORER_PATH",
    "Analysis",
    "ScoreResult",
    "Scorer",
    "ScorerFileError",
    "Span",
    "abstain_reason",
    "analyze",
    "get_embedder",
    "mode_of",
    "reference",
    "split_sentences",
    "warm_references",
]
