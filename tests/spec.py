"""Validates bodies against the schemas of Mirakl's own OpenAPI spec of Mirakl Connect.

The spec is a copy in `tests/data/specs/` (see its README.md). Schemas are JSON Schema 2020-12
(OpenAPI 3.1), checked with jsonschema; `validate("UpsertProductsRequest", body)` raises
`jsonschema.ValidationError`, `problems(...)` lists every problem as text.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import jsonschema
import yaml
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.data import SPECS

SPEC_PATH = SPECS / "mirakl-connect-openapi.yaml"
_ROOT = "urn:mirakl-connect-openapi"
_SCHEMAS = "#/components/schemas/"


@cache
def spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        raise FileNotFoundError(f"Mirakl Connect OpenAPI spec not found at {SPEC_PATH}")
    with SPEC_PATH.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _schemas() -> dict[str, Any]:
    """`components.schemas`, with the one knot in `Attribute` untied.

    `Attribute` declares a `discriminator` on `type` (mapping to AttributeString/Numeric/
    Boolean) and, in the base, `value: {type: object}`, while each subtype says its value is a
    string, a number or a boolean. JSON Schema ignores `discriminator`, and the subtypes reach
    the base through `allOf`, so every real attribute (the spec's own examples included) would
    fail on `type: object`. We resolve it the way the discriminator means it: an attribute is
    validated against the subtype its `type` maps to, and that subtype's `allOf` points to a
    copy of the base whose `value` has its `type` dropped (its other keywords kept).
    """
    schemas = copy.deepcopy(spec()["components"]["schemas"])
    base = schemas["Attribute"]
    discriminator = base.pop("discriminator")
    mapping: dict[str, str] = discriminator["mapping"]
    key: str = discriminator["propertyName"]
    base_value = {k: v for k, v in base["properties"]["value"].items() if k != "type"}
    schemas["AttributeBase"] = {**base, "properties": {**base["properties"], "value": base_value}}
    base_ref = {"$ref": f"{_SCHEMAS}Attribute"}
    for ref in mapping.values():
        name = ref.removeprefix(_SCHEMAS)
        schemas[name]["allOf"] = [
            {"$ref": f"{_SCHEMAS}AttributeBase"} if part == base_ref else part
            for part in schemas[name]["allOf"]
        ]
    schemas["Attribute"] = {
        "description": base.get("description", ""),
        "type": "object",
        "required": [key],
        "properties": {key: {"enum": list(mapping)}},
        "allOf": [{"$ref": f"{_SCHEMAS}AttributeBase"}]
        + [
            {"if": {"properties": {key: {"const": kind}}}, "then": {"$ref": ref}}
            for kind, ref in mapping.items()
        ],
    }
    return schemas


@cache
def _registry() -> Registry:
    document = {"components": {"schemas": _schemas()}}
    return Registry().with_resource(_ROOT, DRAFT202012.create_resource(document))


@cache
def validator(schema_name: str) -> jsonschema.Draft202012Validator:
    if schema_name not in spec()["components"]["schemas"]:
        raise KeyError(f"no schema {schema_name!r} in the Mirakl Connect spec")
    return jsonschema.Draft202012Validator(
        {"$ref": f"{_ROOT}{_SCHEMAS}{schema_name}"},
        registry=_registry(),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def problems(schema_name: str, body: Any) -> list[str]:
    """Every way `body` breaks the schema, as `path: message` lines (empty when valid)."""
    found = []
    for error in validator(schema_name).iter_errors(body):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        found.append(f"{path or '.'}: {error.message}")
    return sorted(found)


def validate(schema_name: str, body: Any) -> None:
    """Raise `jsonschema.ValidationError` when `body` breaks the schema."""
    validator(schema_name).validate(body)
