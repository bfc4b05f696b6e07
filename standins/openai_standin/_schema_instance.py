"""JSON-schema instances: a valid value for a schema, with routing fields filled from the task."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from standins.openai_standin._classify import Classification, classify
from standins.openai_standin.answers import topic_of

_MAX_DEPTH = 8


def schema_instance(schema: dict[str, Any], task: str, confidence: float | None = None) -> Any:
    """A value valid for the JSON schema, routing fields filled from the task's classification
    (its confidence fields with `confidence` when given)."""
    cls = replace(classify(task, enum_values(schema)), fixed_confidence=confidence)
    return _instance(schema, schema, cls, task, "", 0)


def enum_values(schema: Any) -> list[Any]:
    """Every value any `enum` in the schema offers, in schema order."""
    if isinstance(schema, list):
        return [value for item in schema for value in enum_values(item)]
    if not isinstance(schema, dict):
        return []
    offered = schema.get("enum")
    own = list(offered) if isinstance(offered, list) else []
    return own + [
        value for key, item in schema.items() if key != "enum" for value in enum_values(item)
    ]


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
    if cls.option is not None and cls.option in values:
        return cls.option
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
