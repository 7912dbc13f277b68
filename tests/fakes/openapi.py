"""Validate requests and responses against an OpenAPI 3.0 or Swagger 2.0 document.

The fakes use this on every exchange: a request the real server would reject is answered
with its 400, and a response body the real server could not have sent is a bug in the fake
(recorded as a violation that fails the test). Schemas are checked with jsonschema after
turning OpenAPI's `nullable` into JSON Schema; form and query values (always text on the
wire) are converted by their declared type first, as the servers' parsers do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
_URI = "urn:spec"


def _to_json_schema(node: Any) -> Any:
    """OpenAPI's schema dialect -> draft 7: `nullable` becomes a null alternative."""
    if isinstance(node, list):
        return [_to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _to_json_schema(v) for k, v in node.items()
                 if k not in ("nullable", "example", "x-enum-varnames")}
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def _rebase_refs(node: Any) -> Any:
    if isinstance(node, list):
        return [_rebase_refs(v) for v in node]
    if not isinstance(node, dict):
        return node
    return {k: (f"{_URI}{v}" if k == "$ref" and isinstance(v, str) and v.startswith("#")
                else _rebase_refs(v)) for k, v in node.items()}


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path, query, header, body, formData
    required: bool
    schema: dict[str, Any]


@dataclass
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    parameters: list[Parameter]
    bodies: dict[str, dict[str, Any]]  # content type -> schema
    body_required: bool
    responses: dict[str, dict[str, Any] | None]  # status -> schema (None: no body)
    security: bool
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def deprecated(self) -> bool:
        return bool(self.raw.get("deprecated"))


class ValidationFailed(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class Spec:
    """One API description: find the operation for a request, validate both directions."""

    def __init__(self, filename: str) -> None:
        self.path = CONTRACTS / filename
        self.doc: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        self.swagger2 = "swagger" in self.doc
        converted = _rebase_refs(_to_json_schema(self.doc))
        self._registry: Registry[Any] = Registry().with_resource(
            _URI, Resource(contents=converted, specification=DRAFT7)
        )
        self._converted = converted
        self.operations = [op for op in self._operations()]
        self._validators: dict[str, Draft7Validator] = {}

    @cached_property
    def version(self) -> str:
        return str(self.doc.get("info", {}).get("version", ""))

    # -- building --------------------------------------------------------------------------

    def _operations(self) -> list[Operation]:
        result = []
        for template, methods in self._converted["paths"].items():
            shared = methods.get("parameters", [])
            for method, op in methods.items():
                if method == "parameters" or not isinstance(op, dict):
                    continue
                result.append(self._operation(method.upper(), template, op, shared))
        # Literal segments beat parameters: /albums/assets before /albums/{id}.
        result.sort(key=lambda o: (o.template.count("{"), -len(o.template)))
        return result

    def _operation(self, method: str, template: str, op: dict[str, Any],
                   shared: list[dict[str, Any]]) -> Operation:
        params = [self._parameter(p) for p in [*shared, *op.get("parameters", [])]]
        bodies: dict[str, dict[str, Any]] = {}
        body_required = False
        if "requestBody" in op:
            body = self._deref(op["requestBody"])
            body_required = bool(body.get("required"))
            for ctype, media in body.get("content", {}).items():
                bodies[ctype] = media.get("schema", {})
        responses: dict[str, dict[str, Any] | None] = {}
        for status, answer in op.get("responses", {}).items():
            answer = self._deref(answer)
            if self.swagger2:
                responses[status] = answer.get("schema")
            else:
                content = answer.get("content", {})
                media = content.get("application/json") or next(iter(content.values()), None)
                responses[status] = media.get("schema") if media else None
        security = op.get("security", self._converted.get("security"))
        return Operation(method, template, _compile(template), params, bodies, body_required,
                         responses, bool(security), op)

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            pointer = node["$ref"].removeprefix(_URI).lstrip("#/").split("/")
            target: Any = self._converted
            for part in pointer:
                target = target[part]
            node = target
        return node

    def _parameter(self, raw: dict[str, Any]) -> Parameter:
        raw = self._deref(raw)
        location = raw["in"]
        if location == "body":
            schema = raw.get("schema", {})
        elif "schema" in raw:
            schema = raw["schema"]
        else:  # Swagger 2.0: the schema keywords sit on the parameter itself
            schema = {k: v for k, v in raw.items()
                      if k in ("type", "format", "enum", "minimum", "maximum", "items",
                               "pattern", "maxLength", "minLength")}
        return Parameter(raw["name"], location, bool(raw.get("required")), schema)

    # -- lookup ----------------------------------------------------------------------------

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation serving `method path` (path relative to the spec's paths)."""
        for op in self.operations:
            if op.method != method:
                continue
            match = op.pattern.match(path)
            if match:
                names = re.findall(r"\{([^}]+)\}", op.template)
                values = [match.group(f"p{i}") for i in range(len(names))]
                return op, dict(zip(names, values, strict=True))
        return None

    def path_exists(self, path: str) -> bool:
        return any(op.pattern.match(path) for op in self.operations)

    # -- validation ------------------------------------------------------------------------

    def _validator(self, schema: dict[str, Any]) -> Draft7Validator:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            self._validators[key] = Draft7Validator(
                schema, registry=self._registry, format_checker=FormatChecker()
            )
        return self._validators[key]

    def errors(self, schema: dict[str, Any], value: Any, where: str) -> list[str]:
        validator = self._validator(schema)
        return [f"{where}{_path(e.absolute_path)}: {e.message}"
                for e in validator.iter_errors(value)]

    def validate_request(self, op: Operation, path_params: Mapping[str, str],
                         query: Mapping[str, list[str]], headers: Mapping[str, str],
                         json_body: Any = None, form: Mapping[str, Any] | None = None,
                         content_type: str | None = None) -> None:
        errors: list[str] = []
        for param in op.parameters:
            errors += self._check_parameter(param, path_params, query, headers, json_body, form)
        errors += self._check_body(op, json_body, form, content_type)
        if errors:
            raise ValidationFailed(errors)

    def _check_parameter(self, param: Parameter, path_params: Mapping[str, str],
                         query: Mapping[str, list[str]], headers: Mapping[str, str],
                         json_body: Any, form: Mapping[str, Any] | None) -> list[str]:
        where = f"{param.location} parameter {param.name!r}"
        if param.location == "body":
            if json_body is None:
                return [f"{where} is required"] if param.required else []
            return self.errors(param.schema, json_body, "body")
        if param.location == "formData":
            present = form is not None and param.name in form
            if not present:
                return [f"{where} is required"] if param.required else []
            if param.schema.get("type") == "file":
                return []
            assert form is not None
            return self._check_text(param.schema, form[param.name], where)
        source: Mapping[str, Any] = {
            "path": path_params,
            "query": {k: v if _is_array(param.schema) else v[-1] for k, v in query.items()},
            "header": {k.lower(): v for k, v in headers.items()},
        }.get(param.location, {})
        key = param.name.lower() if param.location == "header" else param.name
        if key not in source:
            return [f"{where} is required"] if param.required else []
        return self._check_text(param.schema, source[key], where)

    def _check_text(self, schema: dict[str, Any], raw: Any, where: str) -> list[str]:
        value, problem = coerce(self._deref(schema) if "$ref" in schema else schema, raw)
        if problem:
            return [f"{where}: {problem}"]
        return self.errors(schema, value, where)

    def _check_body(self, op: Operation, json_body: Any, form: Mapping[str, Any] | None,
                    content_type: str | None) -> list[str]:
        if not op.bodies:
            return []
        if json_body is None and form is None:
            return ["request body is required"] if op.body_required else []
        ctype = (content_type or "").split(";")[0].strip()
        schema = op.bodies.get(ctype)
        if schema is None:
            return [f"content type {ctype!r} not accepted (expects {sorted(op.bodies)})"]
        if form is None:
            return self.errors(schema, json_body, "body")
        return self._check_form(schema, form)

    def _check_form(self, schema: dict[str, Any], form: Mapping[str, Any]) -> list[str]:
        """Multipart fields arrive as text or files; convert by declared type, then check."""
        schema = self._deref(schema)
        properties = schema.get("properties", {})
        typed: dict[str, Any] = {}
        errors: list[str] = []
        for name, raw in form.items():
            prop = properties.get(name)
            if prop is None:
                typed[name] = raw if isinstance(raw, str) else "<file>"
                continue
            prop = self._deref(prop) if "$ref" in prop else prop
            if prop.get("format") == "binary":
                if isinstance(raw, str):
                    errors.append(f"form field {name!r}: expected a file part")
                typed[name] = "<file>"
                continue
            value, problem = coerce(prop, raw)
            if problem:
                errors.append(f"form field {name!r}: {problem}")
            else:
                typed[name] = value
        return errors + self.errors(schema, typed, "form")

    def validate_response(self, op: Operation, status: int, body: Any) -> list[str]:
        declared = op.responses.get(str(status)) if op.responses else None
        if str(status) not in op.responses and "default" not in op.responses:
            return [f"{op.method} {op.template}: status {status} is not documented"]
        schema = declared if declared is not None else op.responses.get("default")
        if schema is None or body is None:
            return []
        return self.errors(schema, body, f"{op.method} {op.template} {status} response")


def _compile(template: str) -> re.Pattern[str]:
    """'/albums/{id}/assets' -> a regex with one group per path parameter, in order."""
    pieces = re.split(r"\{[^}]+\}", template)
    regex = "".join(
        re.escape(piece) + (f"(?P<p{i}>[^/]+)" if i < len(pieces) - 1 else "")
        for i, piece in enumerate(pieces)
    )
    return re.compile(f"^{regex}$")


def _is_array(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "array"


def coerce(schema: dict[str, Any], raw: Any) -> tuple[Any, str | None]:
    """Text from a form, query or header converted the way the server's parser would."""
    if not isinstance(raw, str | list):
        return raw, None
    kind = schema.get("type")
    if isinstance(raw, list):
        if kind == "array":
            items = schema.get("items", {})
            converted = [coerce(items, v) for v in raw]
            problems = [p for _, p in converted if p]
            return [v for v, _ in converted], (problems[0] if problems else None)
        raw = raw[-1]
    if kind == "boolean":
        if raw in ("true", "false"):
            return raw == "true", None
        return raw, f"{raw!r} is not a boolean"
    if kind in ("integer", "number"):
        try:
            return (int(raw) if kind == "integer" else float(raw)), None
        except ValueError:
            return raw, f"{raw!r} is not a valid {kind}"
    if kind == "array":
        return [raw], None
    return raw, None


def _path(parts: Any) -> str:
    items = list(parts)
    return "" if not items else "." + ".".join(str(p) for p in items)
