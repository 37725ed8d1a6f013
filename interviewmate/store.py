"""SQLite history of sessions and graded answers, for progress over time.

The database path comes from `INTERVIEWMATE_DB`; on a Hugging Face Space with persistent storage it
defaults to `/data/interviewmate.db`, elsewhere to `.interviewmate/history.db` in the working folder.
Users are anonymous keys (a random id kept in the browser), never names or emails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from interviewmate.rubric import CRITERIA

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    user_key TEXT NOT NULL,
    started_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    role TEXT, engine TEXT, config TEXT,
    mean_score REAL, answered INTEGER, criteria TEXT
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


USER_KEY = re.compile(r"[0-9a-f]{32}")  # what `new_user_key` makes; anything else is refused


def new_user_key() -> str:
    return secrets.token_hex(16)


def valid_user_key(key: object) -> bool:
    return isinstance(key, str) and USER_KEY.fullmatch(key) is not None


def history_secret(db_path: Path | str | None = None) -> str:
    """The secret the browser keeps the user key under: `INTERVIEWMATE_SECRET`, else a file created once next to
    the database (so a restart does not make every user's history unreachable)."""
    if env := os.environ.get("INTERVIEWMATE_SECRET"):
        return env
    path = (Path(db_path) if db_path else default_db_path()).with_name("browser-secret")
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(32)
        try:  # created once, readable by this user only; a concurrent start that lost the race reads the winner's
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(value)
        return value


class HistoryStore:
    """Thread-safe enough for a Gradio server: one short-lived connection per call, WAL journal."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
            if "criteria" not in columns:  # a database written before criteria means were kept per session
                db.execute("ALTER TABLE sessions ADD COLUMN criteria TEXT")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    def save_session(self, user_key: str, session) -> None:
        """Insert or update a session's row from an `InterviewSession`, with the summary's own mean score and
        criteria means (the one definition the summary, the export and Progress all show)."""
        with closing(self._connect()) as db, db:
            self._upsert_session(db, user_key, session)

    @staticmethod
    def _upsert_session(db: sqlite3.Connection, user_key: str, session) -> None:
        s = session.summary()
        now = time.time()
        db.execute(
            "INSERT INTO sessions (session_id, user_key, started_at, updated_at, role, engine, config, "
            "mean_score, answered, criteria) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(session_id) DO UPDATE SET "
            "updated_at=excluded.updated_at, mean_score=excluded.mean_score, answered=excluded.answered, "
            "criteria=excluded.criteria",
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
                json.dumps(s["criteria_means"]),
            ),
        )

    def record_answer(self, user_key: str, session, turn) -> None:
        """Store one graded answer and keep its session row current, in one transaction: either both are saved or
        neither (a session row never counts an answer that is not there)."""
        g = turn.grade
        crit = g.criteria or {}
        with closing(self._connect()) as db, db:
            self._upsert_session(db, user_key, session)
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
                    int(g.scored),
                    g.score,
                    *(crit.get(c) for c in CRITERIA),
                    g.reason,
                ),
            )

    def progress(self, user_key: str) -> list[dict]:
        """One row per session with a scored main answer, oldest first: the session's mean score and criteria
        means exactly as its summary computed them, and the number of main answers graded."""
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT s.session_id, s.started_at, s.role, s.mean_score, s.criteria, COUNT(a.id) FROM sessions s "
                "JOIN answers a ON a.session_id = s.session_id AND a.scored = 1 AND a.kind = 'main' "
                "WHERE s.user_key = ? AND s.mean_score IS NOT NULL GROUP BY s.session_id ORDER BY s.started_at",
                (user_key,),
            ).fetchall()
        out = []
        for session_id, started_at, role, mean, criteria, answers in rows:
            means = json.loads(criteria) if criteria else {}
            out.append({"session_id": session_id, "started_at": started_at, "role": role, "answers": answers,
                        "mean_score": mean, **{c: means.get(c) for c in CRITERIA}})  # fmt: skip
        return out

    def counts(self, user_key: str) -> tuple[int, int]:
        """(sessions, answers) kept for a user."""
        with closing(self._connect()) as db:
            sessions = db.execute("SELECT COUNT(*) FROM sessions WHERE user_key = ?", (user_key,)).fetchone()[0]
            answers = db.execute("SELECT COUNT(*) FROM answers WHERE user_key = ?", (user_key,)).fetchone()[0]
        return sessions, answers

    def delete_user(self, user_key: str) -> int:
        """Delete every session and answer of a user; returns the number of answers removed. The freed pages are
        overwritten (secure_delete) and the write-ahead log is checkpointed, so the text is not left on disk."""
        with closing(self._connect()) as db:
            db.execute("PRAGMA secure_delete=ON")
            with db:
                n = db.execute("DELETE FROM answers WHERE user_key = ?", (user_key,)).rowcount
                db.execute("DELETE FROM sessions WHERE user_key = ?", (user_key,))
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n
