"""SQLite history of sessions and graded answers, for progress over time.

The database path comes from `INTERVIEWMATE_DB`; on a Hugging Face Space with persistent storage it
defaults to `/data/interviewmate.db`, elsewhere to `.interviewmate/history.db` in the working folder.
Users are anonymous keys (a random id kept in the browser), never names or emails.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from interviewmate.prompts import CRITERIA

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    user_key TEXT NOT NULL,
    started_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    role TEXT, engine TEXT, config TEXT,
    mean_score REAL, answered INTEGER
);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
    user_key TEXT NOT NULL,
    created_at REAL NOT NULL,
    question_id TEXT, kind TEXT, attempt INTEGER, question TEXT, answer TEXT,
    scored INTEGER, score INTEGER, relevance INTEGER, structure INTEGER, specificity INTEGER, communication INTEGER,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS answers_user ON answers(user_key, created_at);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_key, started_at);
"""


def default_db_path() -> Path:
    if env := os.environ.get("INTERVIEWMATE_DB"):
        return Path(env)
    if Path("/data").is_dir() and os.access("/data", os.W_OK):  # Space persistent storage
        return Path("/data/interviewmate.db")
    return Path(".interviewmate/history.db")


class HistoryStore:
    """Thread-safe enough for a Gradio server: one short-lived connection per call, WAL journal."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    def save_session(self, user_key: str, session) -> None:
        """Insert or update a session's row from an `InterviewSession`."""
        s = session.summary()
        now = time.time()
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(session_id) DO UPDATE SET "
                "updated_at=excluded.updated_at, mean_score=excluded.mean_score, answered=excluded.answered",
                (
                    session.session_id,
                    user_key,
                    session.started_at,
                    now,
                    session.config.role,
                    session.engine,
                    json.dumps(s["config"]),
                    s["mean_score"],
                    s["answered"],
                ),
            )

    def record_answer(self, user_key: str, session, turn) -> None:
        """Store one graded answer (and keep its session row current)."""
        self.save_session(user_key, session)
        g = turn.grade
        crit = g.get("criteria") or {}
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO answers (session_id, user_key, created_at, question_id, kind, attempt, question, answer, "
                "scored, score, relevance, structure, specificity, communication, reason) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    session.session_id,
                    user_key,
                    time.time(),
                    turn.question_id,
                    turn.kind,
                    turn.attempt,
                    turn.question,
                    turn.answer,
                    int(bool(g.get("scored"))),
                    g.get("score"),
                    *(crit.get(c) for c in CRITERIA),
                    g.get("reason"),
                ),
            )

    def progress(self, user_key: str) -> list[dict]:
        """One row per session with graded answers, oldest first: mean score and criteria means."""
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT s.session_id, s.started_at, s.role, COUNT(a.id), AVG(a.score), AVG(a.relevance), "
                "AVG(a.structure), AVG(a.specificity), AVG(a.communication) FROM sessions s "
                "JOIN answers a ON a.session_id = s.session_id AND a.scored = 1 AND a.kind = 'main' "
                "WHERE s.user_key = ? GROUP BY s.session_id ORDER BY s.started_at",
                (user_key,),
            ).fetchall()
        return [
            {
                "session_id": r[0],
                "started_at": r[1],
                "role": r[2],
                "answers": r[3],
                "mean_score": round(r[4], 2),
                **{c: round(v, 2) for c, v in zip(CRITERIA, r[5:], strict=True)},
            }
            for r in rows
        ]

    def delete_user(self, user_key: str) -> int:
        """Delete every session and answer of a user; returns the number of answers removed."""
        with closing(self._connect()) as db, db:
            n = db.execute("DELETE FROM answers WHERE user_key = ?", (user_key,)).rowcount
            db.execute("DELETE FROM sessions WHERE user_key = ?", (user_key,))
        return n
