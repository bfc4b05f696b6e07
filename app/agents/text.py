"""Text helpers agents share: untrusted-material cleaning, summaries, code fences."""

from __future__ import annotations

import re

# Zero-width, bidi-control and Unicode tag characters can hide instructions in search results.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\U000e0000-\U000e007f]")
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+#.-]*)[^\n]*\n(.*?)```", re.DOTALL)

LANGUAGE_ALIASES = {
    "py": "python",
    "python3": "python",
    "js": "javascript",
    "node": "javascript",
    "ts": "typescript",
    "golang": "go",
    "sh": "bash",
    "shell": "bash",
    "c++": "cpp",
    "c#": "csharp",
    "cs": "csharp",
    "rs": "rust",
}
KNOWN_LANGUAGES = (
    "python",
    "javascript",
    "typescript",
    "java",
    "go",
    "rust",
    "sql",
    "bash",
    "cpp",
    "csharp",
    "ruby",
    "kotlin",
    "swift",
    "php",
)


def clean_untrusted(text: str, limit: int) -> str:
    """Strip invisible characters and delimiter look-alikes, cap the length."""
    text = _INVISIBLE.sub("", text)
    text = text.replace("<search_results>", "").replace("</search_results>", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarize(text: str, limit: int = 280) -> str:
    """The first line of prose in text, without markdown markers, capped at `limit`."""
    in_fence = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence or not stripped:
            continue
        stripped = stripped.lstrip("#>*- ").strip()
        if stripped:
            return stripped if len(stripped) <= limit else stripped[: limit - 1] + "…"
    return text.strip()[:limit]


def normalize_language(name: str) -> str | None:
    """A canonical language name for a fence tag or a word, None when unknown."""
    lowered = name.strip().lower()
    lowered = LANGUAGE_ALIASES.get(lowered, lowered)
    return lowered if lowered in KNOWN_LANGUAGES else None


def fenced_language(text: str) -> str | None:
    """The language tag of the first fenced code block, normalised."""
    match = _FENCE.search(text)
    if match is None or not match.group(1):
        return None
    return normalize_language(match.group(1)) or match.group(1).lower()


def has_fence(text: str) -> bool:
    """Whether text contains a complete fenced code block."""
    return _FENCE.search(text) is not None


def requested_language(task: str) -> str | None:
    """The programming language a task names, if any."""
    words = re.findall(r"[A-Za-z+#]+", task.lower())
    for word in words:
        # "go" is an everyday English word; only "golang" names the language reliably.
        language = None if word == "go" else normalize_language(word)
        if language is not None:
            return language
    return None
