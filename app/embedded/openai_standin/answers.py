"""Deterministic answers of the OpenAI stand-in: classification, schema instances, text replies."""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

TaskKind = Literal["code", "content", "unknown"]

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
_SEARCH_BLOCK = re.compile(r"<search_results>(.*?)</search_results>", re.DOTALL)
_TASK_BLOCK = re.compile(r"<task>(.*?)</task>", re.DOTALL)


@dataclass(frozen=True)
class Classification:
    """Which agent a task belongs to, the keywords that decided it, and how sure we are."""

    kind: TaskKind
    keywords: tuple[str, ...]

    @property
    def confidence(self) -> float:
        """0.92 for two or more matching keywords, 0.75 for one, 0.9 for a confident unknown."""
        if self.kind == "unknown":
            return 0.9
        return 0.92 if len(self.keywords) >= 2 else 0.75

    @property
    def reasoning(self) -> str:
        """One sentence naming the keywords that decided the classification."""
        if self.kind == "unknown":
            return (
                "The task mentions no programming or writing/research keywords, so it is unknown."
            )
        words = ", ".join(f"'{k}'" for k in self.keywords)
        what = "a programming task" if self.kind == "code" else "a writing or research task"
        return f"The task mentions {words}, which indicates {what}."


def focus(text: str) -> str:
    """The part of a message that states the task: a <task> block if any, minus search results."""
    task = _TASK_BLOCK.search(text)
    return _SEARCH_BLOCK.sub(" ", task.group(1) if task else text).strip()


def classify(task: str) -> Classification:
    """Classify a task as code, content or unknown from its keywords."""
    text = focus(task)
    found: dict[str, list[str]] = {"code": [], "content": []}
    score: dict[str, int] = {"code": 0, "content": 0}
    for side, weight, term, pattern in _KEYWORDS:
        if pattern.search(text):
            found[side].append(term)
            score[side] += weight
    if score["code"] == 0 and score["content"] == 0:
        return Classification("unknown", ())
    # On a tie prose wins: "explain Python decorators" asks for an explanation, not a program.
    kind: TaskKind = "code" if score["code"] > score["content"] else "content"
    return Classification(kind, tuple(found[kind]))


def estimate_tokens(text: str) -> int:
    """A deterministic token estimate: one token per four characters."""
    return math.ceil(len(text) / 4)


# --- JSON-schema instances ---------------------------------------------------------------

_MAX_DEPTH = 8


def schema_instance(schema: dict[str, Any], task: str) -> Any:
    """A value valid for the JSON schema, routing fields filled from the task's classification."""
    return _instance(schema, schema, classify(task), task, "", 0)


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        if part:
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return dict(node)


def _instance(
    schema: dict[str, Any],
    root: dict[str, Any],
    cls: Classification,
    task: str,
    name: str,
    depth: int,
) -> Any:
    if "$ref" in schema:
        merged = {
            **_resolve(str(schema["$ref"]), root),
            **{k: v for k, v in schema.items() if k != "$ref"},
        }
        return _instance(merged, root, cls, task, name, depth + 1)
    if "allOf" in schema:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            merged.update(_resolve(part["$ref"], root) if "$ref" in part else part)
        return _instance(merged, root, cls, task, name, depth + 1)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            if not options or depth >= _MAX_DEPTH:
                return None
            return _instance(options[0], root, cls, task, name, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return _enum_choice(list(schema["enum"]), cls)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        props: dict[str, Any] = schema.get("properties", {})
        # Optional properties are left out, as a model would; strict schemas require them all.
        wanted = set(schema.get("required", props))
        return {
            k: _instance(v, root, cls, task, k, depth + 1) for k, v in props.items() if k in wanted
        }
    if kind == "array":
        count = int(schema.get("minItems", 0 if depth >= _MAX_DEPTH else 1))
        count = min(count, int(schema.get("maxItems", count)))
        item_schema: dict[str, Any] = schema.get("items", {})
        return [_instance(item_schema, root, cls, task, name, depth + 1) for _ in range(count)]
    if kind in ("number", "integer"):
        return _number(schema, cls, name, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, cls, task, name)


def _enum_choice(values: list[Any], cls: Classification) -> Any:
    if not values:
        return None
    labels = {str(v).lower(): v for v in values}
    if cls.kind == "unknown":
        return labels.get("unknown", values[0])
    for label, value in labels.items():
        if cls.kind in label:
            return value
    return values[0]


def _bound(schema: dict[str, Any], inclusive: str, exclusive: str, step: float) -> float | None:
    """The tightest inclusive bound from a JSON-schema pair like minimum/exclusiveMinimum."""
    bounds = [schema.get(inclusive)]
    if schema.get(exclusive) is not None:
        bounds.append(schema[exclusive] + step)
    values = [float(b) for b in bounds if b is not None]
    if not values:
        return None
    return max(values) if step > 0 else min(values)


def _number(
    schema: dict[str, Any], cls: Classification, name: str, *, integer: bool
) -> float | int:
    value: float = cls.confidence if "confidence" in name.lower() else 1.0
    step = 1.0 if integer else 1e-6
    low = _bound(schema, "minimum", "exclusiveMinimum", step)
    high = _bound(schema, "maximum", "exclusiveMaximum", -step)
    if low is not None and high is not None and not low <= value <= high:
        value = (low + high) / 2
    elif low is not None and value < low:
        value = low
    elif high is not None and value > high:
        value = high
    return math.ceil(value) if integer else value


def _string(schema: dict[str, Any], cls: Classification, task: str, name: str) -> str:
    lowered = name.lower()
    if lowered in ("reasoning", "rationale", "explanation", "reason"):
        text = cls.reasoning
    elif schema.get("format") == "date-time":
        text = "2026-01-01T00:00:00Z"
    elif schema.get("format") == "date":
        text = "2026-01-01"
    elif schema.get("format") in ("uri", "url"):
        text = "https://example.com/"
    elif schema.get("format") == "email":
        text = "user@example.com"
    else:
        text = topic_of(task) or (name or "value")
    text = text.ljust(int(schema.get("minLength", 0)), ".")
    return text[: int(schema.get("maxLength", len(text)))]


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
    block = _SEARCH_BLOCK.search(text)
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


def text_answer(task: str) -> str:
    """The plain-text reply for a task: cited prose, one code block, or a short paragraph."""
    results = parse_search_results(task)
    if results is not None:
        return _content_answer(task, results)
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


def _content_answer(task: str, results: list[SearchResult]) -> str:
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
    if results:
        sources = "Sources:\n" + "\n".join(
            f"[{r.number}] {_unmarked(r.title)} - {r.url}" for r in results
        )
    else:
        sources = "Sources: none were provided."
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


_PY_LINKED_LIST = '''from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Node:
    value: object
    next: Node | None = None


def {name}(head: Node | None) -> Node | None:
    """Reverse a singly linked list in place and return its new head."""
    previous: Node | None = None
    current = head
    while current is not None:
        current.next, previous, current = previous, current, current.next
    return previous
'''
_PY_TEMPLATES = (
    (
        ("linked list",),
        _PY_LINKED_LIST,
        "It walks the list once, re-pointing each node, so it runs in O(n) time and O(1) space.",
    ),
    (
        ("fibonacci",),
        'def {name}(n: int) -> list[int]:\n    """Return the first n Fibonacci numbers."""\n'
        "    numbers: list[int] = []\n    a, b = 0, 1\n    for _ in range(n):\n"
        "        numbers.append(a)\n        a, b = b, a + b\n    return numbers\n",
        "It builds the sequence iteratively, so it needs no recursion and runs in O(n).",
    ),
    (
        ("palindrome",),
        'def {name}(text: str) -> bool:\n    """Whether text reads the same backwards, ignoring'
        ' case and punctuation."""\n    letters = [c.lower() for c in text if c.isalnum()]\n'
        "    return letters == letters[::-1]\n",
        "It compares the normalised characters with their reverse in O(n) time.",
    ),
    (
        ("factorial",),
        'def {name}(n: int) -> int:\n    """Return n! for a non-negative n."""\n    if n < 0:\n'
        '        raise ValueError("n must be non-negative")\n    result = 1\n'
        "    for k in range(2, n + 1):\n        result *= k\n    return result\n",
        "It multiplies iteratively and rejects negative input with a ValueError.",
    ),
)
_GENERIC = {
    "python": 'def {name}(items: list[str]) -> list[str]:\n    """{doc}"""\n'
    "    return [item.strip() for item in items if item.strip()]\n",
    "javascript": "function {camel}(items) {{\n"
    "  return items.map((item) => item.trim()).filter((item) => item.length > 0);\n}}\n\n"
    "module.exports = {{ {camel} }};\n",
    "typescript": "export function {camel}(items: string[]): string[] {{\n"
    "  return items.map((item) => item.trim()).filter((item) => item.length > 0);\n}}\n",
    "java": "import java.util.List;\n\npublic final class {pascal} {{\n"
    "    public static List<String> {camel}(List<String> items) {{\n"
    "        return items.stream().map(String::trim).filter(s -> !s.isEmpty()).toList();\n"
    "    }}\n}}\n",
    "go": 'package main\n\nimport "strings"\n\nfunc {camel}(items []string) []string {{\n'
    "\tresult := make([]string, 0, len(items))\n\tfor _, item := range items {{\n"
    '\t\tif trimmed := strings.TrimSpace(item); trimmed != "" {{\n'
    "\t\t\tresult = append(result, trimmed)\n\t\t}}\n\t}}\n\treturn result\n}}\n",
    "rust": "pub fn {name}(items: &[&str]) -> Vec<String> {{\n"
    "    items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).map(String::from).collect()\n"
    "}}\n",
    "sql": "CREATE VIEW {name} AS\nSELECT id, TRIM(value) AS value\nFROM items\n"
    "WHERE TRIM(value) <> ''\nORDER BY id;\n",
    "bash": '{name}() {{\n  local item\n  for item in "$@"; do\n'
    '    item="${{item#"${{item%%[![:space:]]*}}"}}"\n'
    '    [ -n "$item" ] && printf \'%s\\n\' "$item"\n  done\n}}\n',
    "cpp": "#include <string>\n#include <vector>\n\n"
    "std::vector<std::string> {name}(const std::vector<std::string>& items) {{\n"
    "    std::vector<std::string> result;\n    for (const auto& item : items) {{\n"
    "        if (!item.empty()) result.push_back(item);\n    }}\n    return result;\n}}\n",
    "csharp": "using System.Collections.Generic;\nusing System.Linq;\n\n"
    "public static class {pascal}Extensions\n{{\n"
    "    public static IEnumerable<string> {pascal}(IEnumerable<string> items) =>\n"
    "        items.Select(s => s.Trim()).Where(s => s.Length > 0);\n}}\n",
}
_LANGUAGE_NAMES = {
    "python": "Python", "javascript": "JavaScript", "typescript": "TypeScript", "java": "Java",
    "go": "Go", "rust": "Rust", "sql": "SQL", "bash": "Bash", "cpp": "C++", "csharp": "C#",
}  # fmt: skip


def _code_answer(task: str) -> str:
    language = language_of(task)
    name = function_name(task)
    lowered = task.lower()
    explanation = "It trims every input item and drops the empty ones, leaving the input untouched."
    code = ""
    if language == "python":
        for keys, template, why in _PY_TEMPLATES:
            if all(k in lowered for k in keys):
                code, explanation = template.replace("{name}", name), why
                break
    if not code:
        doc = f"{name.replace('_', ' ').capitalize()}: trim items and drop empty ones."
        code = _GENERIC[language].format(
            name=name, camel=_camel(name), pascal=_camel(name, upper=True), doc=doc
        )
    label = _LANGUAGE_NAMES[language]
    intro = f"Here is a {label} implementation of `{name}`."
    return f"{intro}\n\n```{language}\n{code}```\n\n{explanation}"
