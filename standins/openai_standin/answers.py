"""Deterministic text answers of the OpenAI stand-in: cited prose, code, short paragraphs."""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from standins.openai_standin._classify import SEARCH_BLOCK, classify, focus
from standins.openai_standin._code_templates import (
    GENERIC_TEMPLATES,
    LANGUAGE_NAMES,
    PY_TEMPLATES,
)


def estimate_tokens(text: str) -> int:
    """A deterministic token estimate: one token per four characters."""
    return math.ceil(len(text) / 4)


# --- text answers ------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    """One numbered entry of a <search_results> block."""

    number: int
    title: str
    url: str
    content: str


def parse_search_results(text: str) -> list[SearchResult] | None:
    """The entries of the message's <search_results> block, or None when it has none."""
    block = SEARCH_BLOCK.search(text)
    if block is None:
        return None
    results: list[SearchResult] = []
    for entry in re.split(r"^(?=\[\d+\])", block.group(1), flags=re.MULTILINE):
        head = re.match(r"\[(\d+)\]\s*(.*)", entry.strip())
        if head is None:
            continue
        url = re.search(r"^URL:\s*(\S+)", entry, re.MULTILINE)
        content = re.search(r"^Content:\s*(.*)", entry, re.MULTILINE | re.DOTALL)
        results.append(
            SearchResult(
                number=int(head.group(1)),
                title=head.group(2).strip(),
                url=url.group(1) if url else "",
                content=" ".join(content.group(1).split()) if content else "",
            )
        )
    return results


def topic_of(task: str) -> str:
    """The subject of a task: what follows "about", else the task minus its leading imperative."""
    text = " ".join(focus(task).split())
    text = re.sub(r"^(task|request|question)\s*:\s*", "", text, flags=re.IGNORECASE)
    about = re.search(r"\babout\s+(.+?)(?:[.?!](?:\s|$)|$)", text, re.IGNORECASE)
    if about:
        text = about.group(1)
    else:
        text = re.split(r"[.?!](?:\s|$)", text)[0]
        text = re.sub(
            r"^(please\s+)?(can you\s+)?(write|create|give me|make|draft|tell me|explain)\s+"
            r"((a|an|the|me)\s+)?",
            "",
            text,
            flags=re.IGNORECASE,
        )
    return text.strip()[:80].rstrip()


def text_answer(task: str, planted: Sequence[str] = ()) -> str:
    """The plain-text reply for a task: cited prose (also citing any planted urls, as a model
    inventing sources would), one code block, or a short paragraph."""
    results = parse_search_results(task)
    if results is not None:
        return _content_answer(task, results, planted)
    cls = classify(task)
    if cls.kind == "code":
        return _code_answer(task)
    topic = topic_of(task) or "this request"
    if cls.kind == "content":
        return (
            f"{topic[:1].upper()}{topic[1:]} is a broad subject. The main points are what it is, "
            "why it matters now, and what is likely to change next. Without search results to "
            "cite, this overview stays general; ask again with sources for specifics."
        )
    return (
        f'The request "{topic}" does not clearly ask for writing, research or code. '
        "Please describe what you would like produced, for example an article or a function."
    )


def _unmarked(text: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", text).strip()


def _snippet(text: str) -> str:
    # Bracketed numbers inside source text would read as citations the answer never made.
    clean = _unmarked(text)
    sentence = re.split(r"(?<=[.!?])\s", clean, maxsplit=1)[0].strip()
    return sentence if len(sentence) <= 160 else sentence[:157].rstrip() + "..."


def _content_answer(task: str, results: list[SearchResult], planted: Sequence[str]) -> str:
    topic = topic_of(task) or "the topic"
    title = " ".join(w[:1].upper() + w[1:] for w in topic.split())
    groups = [results[i::3] for i in range(3)]
    openers = (
        f"{title} has moved quickly, and recent coverage shows where attention is going.",
        "Several sources point to the same drivers behind these changes.",
        "Looking ahead, the open questions are about scale, cost and adoption.",
    )
    paragraphs = []
    for opener, group in zip(openers, groups, strict=True):
        if not group:
            paragraphs.append(opener)
            continue
        marks = "".join(f"[{r.number}]" for r in group)
        detail = (_snippet(group[0].content) or _unmarked(group[0].title)).rstrip(".")
        paragraphs.append(f"{opener} {detail} {marks}.")
    if planted:
        paragraphs.append(" ".join(f"See also {url} for more." for url in planted))
    listed = [f"[{r.number}] {_unmarked(r.title)} - {r.url}" for r in results]
    last = max((r.number for r in results), default=0)
    listed += [f"[{last + i}] Planted - {url}" for i, url in enumerate(planted, start=1)]
    sources = "Sources:\n" + "\n".join(listed) if listed else "Sources: none were provided."
    return f"# {title}\n\n" + "\n\n".join(paragraphs) + f"\n\n{sources}"


# --- code answers ------------------------------------------------------------------------

_LANGUAGES = (
    ("typescript", r"typescript|\bts\b"),
    ("javascript", r"javascript|node\.?js|\bjs\b"),
    ("java", r"\bjava\b"),
    ("go", r"golang|\bin go\b|\bgo (?:function|program|code)"),
    ("rust", r"\brust\b"),
    ("sql", r"\bsql\b|postgres|mysql|sqlite"),
    ("bash", r"\bbash\b|shell script|\bsh\b"),
    ("cpp", r"c\+\+|\bcpp\b"),
    ("csharp", r"c#|csharp|\.net\b"),
)
_STOPWORDS = frozenset((
    "a", "an", "the", "that", "which", "who", "to", "for", "of", "in", "on", "with", "and", "or",
    "from", "given", "into", "by", "as", "is", "are", "it", "its", "me", "my", "i", "you", "your",
    "please", "write", "create", "build", "implement", "make", "code", "function", "method",
    "class", "script", "program", "snippet", "using", "use", "simple", "small", "python",
    "javascript", "typescript", "java", "go", "golang", "rust", "sql", "bash", "c", "cpp", "csharp",
))  # fmt: skip


def language_of(task: str) -> str:
    """The fence tag of the programming language the task names (python by default)."""
    for tag, pattern in _LANGUAGES:
        if re.search(pattern, task, re.IGNORECASE):
            return tag
    return "python"


def function_name(task: str) -> str:
    """A snake_case identifier for what the task asks to build, e.g. reverse_linked_list."""
    clause = re.search(
        r"\b(?:function|method|script|program|class|snippet|code|query)\s+(?:that|which|to|for)\s+(.+)",
        task,
        re.IGNORECASE,
    )
    text = clause.group(1) if clause else task
    words = [w for w in re.findall(r"[a-z][a-z0-9]*", text.lower()) if w not in _STOPWORDS][:4]
    if words and words[0].endswith(("ches", "shes", "sses", "xes", "zes")):
        words[0] = words[0][:-2]
    elif words and words[0].endswith("s") and not words[0].endswith("ss"):
        words[0] = words[0][:-1]
    name = "_".join(words) or "solve_task"
    return f"{name}_" if keyword.iskeyword(name) else name


def _camel(name: str, *, upper: bool = False) -> str:
    first, *rest = name.split("_")
    head = first.capitalize() if upper else first
    return head + "".join(w.capitalize() for w in rest)


def _code_answer(task: str) -> str:
    language = language_of(task)
    name = function_name(task)
    lowered = task.lower()
    explanation = "It trims every input item and drops the empty ones, leaving the input untouched."
    code = ""
    if language == "python":
        for keys, template, why in PY_TEMPLATES:
            if all(k in lowered for k in keys):
                code, explanation = template.replace("{name}", name), why
                break
    if not code:
        doc = f"{name.replace('_', ' ').capitalize()}: trim items and drop empty ones."
        code = GENERIC_TEMPLATES[language].format(
            name=name, camel=_camel(name), pascal=_camel(name, upper=True), doc=doc
        )
    label = LANGUAGE_NAMES[language]
    intro = f"Here is a {label} implementation of `{name}`."
    return f"{intro}\n\n```{language}\n{code}```\n\n{explanation}"
