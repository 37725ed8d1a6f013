"""The appendix: for every source, the paths its quoted numbers were read from, folded like shell brace expansion
(`splits.{test,validation}.main.mae` is two paths). numbers.json lists each macro with its value, source and path.
"""

from __future__ import annotations

from .common import latex_escape


def trie(paths: list[list]) -> dict:
    root: dict = {}
    for path in paths:
        node = root
        for key in path:
            node = node.setdefault(str(key), {})
    return root


def fold(node: dict) -> str:
    """A trie as one brace expression; keys whose continuations are identical share them."""
    groups: dict[str, list[str]] = {}
    for key, child in node.items():
        groups.setdefault(fold(child) if child else "", []).append(key)
    parts = [(keys[0] if len(keys) == 1 else "{" + ",".join(keys) + "}") + ("." + rest if rest else "")
             for rest, keys in groups.items()]  # fmt: skip
    return parts[0] if len(parts) == 1 else "{" + ",".join(parts) + "}"


def breakable(text: str) -> str:
    """Escaped text that may break after '.', ',', '_', '-' or '/'."""
    return "".join(latex_escape(c) + (r"\allowbreak{}" if c in ".,_-/" else "") for c in text)


def provenance(data: dict) -> str:
    """One run-in paragraph per source: the number of macros and their folded paths."""
    groups: dict[str, list[list]] = {}
    for d in data.values():
        groups.setdefault(d["source"], []).append(d["path"])
    parts = [rf"\noindent\textbf{{{breakable(src)}}} ({len(paths)}): \texttt{{{breakable(fold(trie(paths)))}}}"
             for src, paths in groups.items()]  # fmt: skip
    return "\n\n".join(parts) + "\n"
