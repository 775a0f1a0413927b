"""Validate payloads against OpenAI's OpenAPI schemas (tests/data: the fine-tuning subset of
openai/openai-openapi at f85dbe2, normalised to JSON Schema 2020-12)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).parent / "data" / "openai-fine-tuning-openapi.json"
SPEC: dict[str, Any] = json.loads(SPEC_PATH.read_text())

# Three response schemas the subset references but does not carry; written from the API reference.
_MISSING = {
    "DeleteFileResponse": {"type": "object", "required": ["id", "object", "deleted"],
                           "properties": {"id": {"type": "string"}, "object": {"const": "file"},
                                          "deleted": {"type": "boolean"}}},
    "DeleteModelResponse": {"type": "object", "required": ["id", "object", "deleted"],
                            "properties": {"id": {"type": "string"}, "object": {"type": "string"},
                                           "deleted": {"type": "boolean"}}},
    "ListModelsResponse": {"type": "object", "required": ["object", "data"],
                           "properties": {"object": {"const": "list"},
                                          "data": {"type": "array", "items": {"$ref": "#/components/schemas/Model"}}}},
}
for _name, _schema in _MISSING.items():
    SPEC["components"]["schemas"].setdefault(_name, _schema)

_REGISTRY = Registry().with_resource("urn:openai-spec", Resource.from_contents(SPEC, default_specification=DRAFT202012))


def validator(schema_name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"urn:openai-spec#/components/schemas/{schema_name}"}, registry=_REGISTRY)


def response_schema(path: str, method: str) -> str:
    """The component schema of a route's 200 response, read from the spec itself."""
    ref = SPEC["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[1]


def errors(payload: Any, schema_name: str) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(schema_name).iter_errors(payload)]
