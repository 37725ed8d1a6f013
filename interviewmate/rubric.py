"""The shared vocabulary of grading: criteria, STAR parts, categories and their labels, roles, difficulties,
score ranges and the kinds of contrast answers.

One module so that the dataset, the scorer, the coach, the UI and the tests never re-type a list. It holds
names and fixed facts only: no logic beyond small lookups.
"""

from __future__ import annotations

CRITERIA = ("relevance", "structure", "specificity", "communication")
STAR_PARTS = ("situation", "task", "action", "result")

CATEGORIES = (
    "behavioral", "situational", "general", "technical", "data_ml",
    "system_design", "leadership", "product", "analytical", "values",
)  # fmt: skip
CATEGORY_LABELS = {
    "behavioral": "Behavioral", "situational": "Situational", "general": "General", "technical": "Technical",
    "data_ml": "Data & ML", "system_design": "System design", "leadership": "Leadership", "product": "Product",
    "analytical": "Analytical", "values": "Values & culture",
}  # fmt: skip
# questions answered with a story (STAR expectations and story advice apply); the rest are answered with knowledge
STORY_CATEGORIES = frozenset({"behavioral", "situational", "leadership", "values", "general"})
# categories where being right is most of the grade (content weighs more than delivery)
KNOWLEDGE_CATEGORIES = frozenset({"technical", "data_ml", "system_design", "analytical", "product"})

ROLES = (
    "software engineer", "data scientist", "ml engineer", "product manager", "engineering manager",
    "data analyst", "devops/sre", "staff engineer", "general",
)  # fmt: skip
# the roles people ask for (the interview set-up offers these) -> the bank roles whose questions they draw on,
# closest first; "general" (any role) draws on every role, and role-neutral questions fit every role
ROLE_CHOICES = {
    "general": (),
    "software engineer": ("software engineer",),
    "backend engineer": ("software engineer", "staff engineer", "devops/sre"),
    "frontend engineer": ("software engineer",),
    "data engineer": ("data analyst", "software engineer", "staff engineer", "devops/sre"),
    "data scientist": ("data scientist", "data analyst"),
    "data analyst": ("data analyst", "data scientist"),
    "ml engineer": ("ml engineer", "data scientist"),
    "devops/sre": ("devops/sre",),
    "staff engineer": ("staff engineer", "software engineer"),
    "engineering manager": ("engineering manager", "staff engineer"),
    "product manager": ("product manager",),
}
ROLE_LABELS = {"general": "Any role", "ml engineer": "ML engineer", "devops/sre": "DevOps / SRE engineer"}
DIFFICULTIES = ("easy", "medium", "hard")
ANY = "any"  # the "no filter" choice of the interview set-up

# histogram ranges of the 1-10 score, and the quality tiers each dataset question has one answer of
SCORE_RANGES = ("1-2", "3-4", "5-6", "7-8", "9-10")
QUALITY_TIERS = {"weak": (1, 4), "middling": (5, 7), "strong": (8, 10)}

# contrast answers (data/contrast_qa.jsonl): kind -> (min words, max words, min score, max score)
CONTRAST_KINDS = {
    "concise_strong": (20, 70, 8, 10),
    "polished_wrong": (30, 220, 1, 4),
    "follow_up_answer": (15, 120, 1, 10),
    "described_not_told": (15, 160, 1, 3),
}
CONTRAST_ID_CODES = {"concise_strong": "cs", "polished_wrong": "pw", "follow_up_answer": "fu",
                     "described_not_told": "dn"}  # fmt: skip
CONTRAST_MINIMUMS = {"concise_strong": 120, "polished_wrong": 60, "follow_up_answer": 100, "described_not_told": 40}


def category_label(category: str) -> str:
    """"data_ml" -> "Data & ML"; unknown names are shown as written, with underscores as spaces."""
    return CATEGORY_LABELS.get(category, category.replace("_", " ").capitalize())


def role_label(role: str) -> str:
    """"devops/sre" -> "DevOps / SRE engineer", "data engineer" -> "Data engineer"."""
    return ROLE_LABELS.get(role, role[:1].upper() + role[1:])


def bank_roles(role: str) -> tuple[str, ...]:
    """The bank roles a chosen role draws on (empty for any role); a bank role stands for itself."""
    return ROLE_CHOICES.get(role, (role,) if role in ROLES and role != "general" else ())


def quality_tier(score: int) -> str:
    """The quality tier of an overall score: strong (8-10), middling (5-7) or weak (1-4)."""
    return "strong" if score >= 8 else "middling" if score >= 5 else "weak"


def score_range(score: int) -> str:
    """The two-point histogram range of a score: 7 -> "7-8"."""
    lo = (score - 1) // 2 * 2 + 1
    return f"{lo}-{lo + 1}"
