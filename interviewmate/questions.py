"""The interview question as one object, and the question bank built from the dataset.

A `Question` carries what a grader knows about it: its text and category, and, for bank questions, the
ideal answer and key points. A user's own question or a follow-up has neither; a follow-up also carries the
answer it follows up on. Every engine, the scorer, the session and the UI pass this one object around.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from interviewmate.rubric import STORY_CATEGORIES

MAIN, FOLLOW_UP = "main", "follow_up"


@dataclass(frozen=True)
class Question:
    question_id: str
    text: str
    category: str = "general"
    role: str = "general"
    difficulty: str = "medium"
    ideal_answer: str = ""
    key_points: tuple[str, ...] = ()
    kind: str = MAIN  # MAIN, or FOLLOW_UP: a question asked about the candidate's previous answer
    context: str = ""  # for a follow-up: the answer it follows up on

    @property
    def is_story(self) -> bool:
        """Answered with a story (STAR): a main question of a story category. A follow-up never is: it asks about
        one point of the story already told."""
        return self.category in STORY_CATEGORIES and self.kind != FOLLOW_UP

    @property
    def has_reference(self) -> bool:
        """True when graders have an ideal answer or key points for it (bank questions)."""
        return bool(self.ideal_answer.strip() or self.key_points)

    @classmethod
    def from_row(cls, row: dict) -> Question:
        """The question of a dataset row (main set or contrast set; a follow-up answer row gives its follow-up)."""
        kind = FOLLOW_UP if row.get("kind") == "follow_up_answer" else MAIN
        return cls(
            question_id=row["question_id"],
            text=row["question"],
            category=row["category"],
            role=row["role"],
            difficulty=row["difficulty"],
            ideal_answer=row.get("ideal_answer", ""),
            key_points=tuple(row.get("key_points", ())),
            kind=kind,
        )

    def follow_up(self, text: str, answer: str) -> Question:
        """The follow-up `text` asked after `answer`: same topic and category, no reference of its own."""
        return replace(self, text=text, ideal_answer="", key_points=(), kind=FOLLOW_UP, context=answer)

    def without_reference(self) -> Question:
        """The same question as a user's own question would arrive: no ideal answer, no key points."""
        return replace(self, ideal_answer="", key_points=())


def question_bank(rows: list[dict]) -> list[Question]:
    """Dataset rows -> one `Question` per question id, in file order."""
    seen: dict[str, Question] = {}
    for r in rows:
        if r["question_id"] not in seen:
            seen[r["question_id"]] = Question.from_row(r)
    return list(seen.values())
