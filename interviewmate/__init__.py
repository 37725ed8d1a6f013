"""InterviewMate: an open-source interview coach (dataset, QLoRA training, scoring, app)."""

__version__ = "0.1.0"
