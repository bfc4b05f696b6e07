"""Task classification: the kind of work a user turn asks for, or the offered option it names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

TaskKind = Literal["code", "content", "unknown"]
_KINDS = frozenset(("code", "content", "unknown"))

# Deliverables weigh more than topics, so "a blog post about Python" is content and
# "a Python function" is code even though each mentions the other side's vocabulary.
_CODE_DELIVERABLES = (
    "code", "function", "class", "script", "method", "program", "snippet", "regex",
    "refactor", "debug", "implement", "unit test", "api endpoint", "compile",
)  # fmt: skip
_CODE_TOPICS = (
    "python", "javascript", "typescript", "java", "rust", "golang", "sql", "bash", "c\\+\\+",
    "c#", "bug", "algorithm", "linked list", "binary search", "recursion", "array", "regexp",
    "html", "css", "dataframe", "fibonacci", "palindrome", "factorial", "leetcode",
)  # fmt: skip
_CONTENT_DELIVERABLES = (
    "blog", "article", "post", "essay", "report", "summary", "summarize", "newsletter",
    "guide", "overview", "write about", "story", "press release",
)  # fmt: skip
_CONTENT_TOPICS = (
    "research", "explain", "trends", "news", "history", "compare", "latest", "analysis",
    "pros and cons", "market",
)  # fmt: skip


def _keyword(term: str) -> re.Pattern[str]:
    # Lookarounds instead of \b so "c++" and "c#" match; "write about" allows a few words between.
    body = r"write\s+(?:\w+\s+){0,3}about" if term == "write about" else term
    return re.compile(r"(?<![\w#+])" + body + r"(?![\w#+])", re.IGNORECASE)


# One pattern per keyword, so overlapping ones ("blog", "post", "write ... about") all count.
_GROUPS: tuple[tuple[Literal["code", "content"], int, tuple[str, ...]], ...] = (
    ("code", 2, _CODE_DELIVERABLES),
    ("code", 1, _CODE_TOPICS),
    ("content", 2, _CONTENT_DELIVERABLES),
    ("content", 1, _CONTENT_TOPICS),
)
_KEYWORDS = [
    (side, weight, term.replace("\\", ""), _keyword(term))
    for side, weight, terms in _GROUPS
    for term in terms
]
SEARCH_BLOCK = re.compile(r"<search_results>(.*?)</search_results>", re.DOTALL)
TASK_BLOCK = re.compile(r"<task>(.*?)</task>", re.DOTALL)


@dataclass(frozen=True)
class Classification:
    """Which agent a task belongs to, the keywords that decided it, and how sure we are."""

    kind: TaskKind
    keywords: tuple[str, ...]
    option: str | None = None  # an offered enum value the task names, e.g. "EchoAgent"
    fixed_confidence: float | None = None  # set by a test (POST /_standin/confidence)

    @property
    def decided(self) -> bool:
        """Whether the task names a kind of work or an offered option."""
        return self.kind != "unknown" or self.option is not None

    @property
    def confidence(self) -> float:
        """0.92 for a named option or two or more keywords, 0.75 for one, 0.9 for an unknown;
        or what a test fixed."""
        if self.fixed_confidence is not None:
            return self.fixed_confidence
        if self.option is not None:
            return 0.92
        if self.kind == "unknown":
            return 0.9
        return 0.92 if len(self.keywords) >= 2 else 0.75

    @property
    def reasoning(self) -> str:
        """One sentence naming the words that decided the classification."""
        if self.option is not None:
            return f"The task mentions '{option_stem(self.option)}', which names {self.option}."
        if self.kind == "unknown":
            return (
                "The task mentions no programming or writing/research keywords, so it is unknown."
            )
        words = ", ".join(f"'{k}'" for k in self.keywords)
        what = "a programming task" if self.kind == "code" else "a writing or research task"
        return f"The task mentions {words}, which indicates {what}."


def focus(text: str) -> str:
    """The part of a message that states the task: a <task> block if any, minus search results."""
    task = TASK_BLOCK.search(text)
    return SEARCH_BLOCK.sub(" ", task.group(1) if task else text).strip()


def option_stem(value: str) -> str:
    """The word a task uses to name an option: the value without a trailing "Agent"."""
    return re.sub(r"[\s_-]*agent$", "", value, flags=re.IGNORECASE)


def _named_option(text: str, options: Sequence[object]) -> str | None:
    for value in options:
        if not isinstance(value, str):
            continue
        stem = option_stem(value)
        # The built-in agents stay on the keyword heuristic, which weighs deliverables.
        if not stem or stem.lower() in _KINDS:
            continue
        if re.search(rf"(?<!\w){re.escape(stem)}(?!\w)", text, re.IGNORECASE):
            return value
    return None


def classify(task: str, options: Sequence[object] = ()) -> Classification:
    """Classify a task as code, content or unknown, noting an offered option it names."""
    text = focus(task)
    option = _named_option(text, options)
    found: dict[str, list[str]] = {"code": [], "content": []}
    score: dict[str, int] = {"code": 0, "content": 0}
    for side, weight, term, pattern in _KEYWORDS:
        if pattern.search(text):
            found[side].append(term)
            score[side] += weight
    if score["code"] == 0 and score["content"] == 0:
        return Classification("unknown", (), option)
    # On a tie prose wins: "explain Python decorators" asks for an explanation, not a program.
    kind: TaskKind = "code" if score["code"] > score["content"] else "content"
    return Classification(kind, tuple(found[kind]), option)


def subject(turns: Sequence[str], options: Sequence[object] = ()) -> str:
    """The user turn to answer: the latest one holding a <task> block (later turns only ask to
    answer it again, as a repair prompt does), else the last; when that names no kind of work
    ("now make it shorter"), the latest earlier turn that does, whose work it continues."""
    stated = [i for i, text in enumerate(turns) if TASK_BLOCK.search(text)]
    end = stated[-1] if stated else len(turns) - 1
    for text in reversed(turns[: end + 1]):
        if SEARCH_BLOCK.search(text) or classify(text, options).decided:
            return text
    return turns[end] if turns else ""
