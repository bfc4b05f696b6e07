"""The code the stand-in answers with: Python templates by topic, a generic one per language."""

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
PY_TEMPLATES = (
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
GENERIC_TEMPLATES = {
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
LANGUAGE_NAMES = {
    "python": "Python", "javascript": "JavaScript", "typescript": "TypeScript", "java": "Java",
    "go": "Go", "rust": "Rust", "sql": "SQL", "bash": "Bash", "cpp": "C++", "csharp": "C#",
}  # fmt: skip
