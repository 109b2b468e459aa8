"""Reuse check (`cargo xtask reuse`): the Python client that openapi-python-client
generates from openapi.yaml decodes the docs examples in openapi.yaml.

Every response example whose schema names a component model is decoded into
that model; the TimePass and ProductTimePass get-one examples are then checked
field by field, including the undocumented "ExpirationType": 0 the docs' own
example carries, and a field the spec does not list must survive decoding.

Usage: decode_example.py --spec openapi.yaml --client-dir DIR --package NAME
(DIR holds the generated package NAME).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import yaml

REF_PREFIX = "#/components/schemas/"


def model_class(models: Any, schema_name: str) -> Any:
    cls = getattr(models, schema_name, None)
    if cls is None:
        raise AssertionError(f"the generated client has no model {schema_name}")
    return cls


def response_examples(spec: dict) -> list[tuple[str, str, Any]]:
    """(where, schema name, example value) for every JSON response example whose
    schema is a component model or an array of one."""
    responses = [
        (f"{method.upper()} {path} {status}", response)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method != "parameters"
        for status, response in op.get("responses", {}).items()
    ]
    responses += [
        (f"components/responses/{name}", response)
        for name, response in spec.get("components", {}).get("responses", {}).items()
    ]
    found = []
    for where, response in responses:
        media = response.get("content", {}).get("application/json")
        if not media:
            continue
        schema = media.get("schema", {})
        is_array = schema.get("type") == "array"
        ref = (schema.get("items", {}) if is_array else schema).get("$ref", "")
        if not ref.startswith(REF_PREFIX):
            continue
        name = ref[len(REF_PREFIX) :]
        for ex_name, example in media.get("examples", {}).items():
            values = example["value"] if is_array else [example["value"]]
            found.extend((f"{where} example {ex_name!r}", name, v) for v in values)
    return found


def example(spec: dict, path: str) -> dict:
    media = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    return copy.deepcopy(media["examples"]["docs"]["value"])


def check_time_pass(models: Any, spec: dict) -> None:
    raw = example(spec, "/api/billing/timepasses/{id}")
    tp = models.TimePass.from_dict(raw)
    assert tp.id == 87654321, tp.id
    assert tp.name == "", tp.name
    assert tp.minutes_included is None, "the example is a Day Pass (MinutesIncluded null)"
    assert tp.price == 0 and isinstance(tp.price, (int, float)), tp.price
    assert tp.counts_towards_plan_limits is False
    assert tp.only_for_members is False and tp.only_for_contacts is False
    assert tp.businesses == [] and tp.tariffs == []
    assert tp.unique_id == uuid.UUID("a1b2c3d4-e5f6-7890-abcd-ef1234567890"), tp.unique_id
    assert tp.created_on == datetime(2025, 1, 10, 8, 0, tzinfo=UTC), tp.created_on
    assert tp.updated_on == datetime(2025, 1, 15, 10, 30, tzinfo=UTC), tp.updated_on
    assert tp.updated_by == "admin@example.com"
    # A field a newer server might send survives decoding and encoding.
    raw["SomeFutureField"] = {"x": 1}
    again = models.TimePass.from_dict(raw)
    assert again.additional_properties.get("SomeFutureField") == {"x": 1}
    assert again.to_dict()["SomeFutureField"] == {"x": 1}
    # A Time Pass: MinutesIncluded is a number.
    raw["MinutesIncluded"] = 480
    assert models.TimePass.from_dict(raw).minutes_included == 480


def check_product_time_pass(models: Any, spec: dict) -> None:
    raw = example(spec, "/api/billing/producttimepasses/{id}")
    assert raw["ExpirationType"] == 0, "the docs example carries the undocumented ExpirationType 0"
    pt = models.ProductTimePass.from_dict(raw)
    assert pt.expiration_type == 0, pt.expiration_type
    assert not isinstance(pt.expiration_type, models.KnownExpirationType)
    assert pt.to_dict()["ExpirationType"] == 0, "an unknown expiration type is kept, not dropped"
    assert isinstance(pt.id, int) and isinstance(pt.product_id, int) and isinstance(pt.time_pass_id, int)
    assert isinstance(pt.passes_included, int), pt.passes_included
    assert isinstance(pt.unique_id, uuid.UUID)
    assert isinstance(pt.created_on, datetime)
    # Documented values decode to the enum, and null stays null.
    raw["ExpirationType"] = 4
    assert models.ProductTimePass.from_dict(raw).expiration_type == models.KnownExpirationType.MONTH
    raw["ExpirationType"] = None
    assert models.ProductTimePass.from_dict(raw).expiration_type is None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True)
    parser.add_argument("--client-dir", required=True)
    parser.add_argument("--package", required=True)
    args = parser.parse_args()

    with open(args.spec, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    sys.path.insert(0, args.client_dir)
    models = importlib.import_module(f"{args.package}.models")

    decoded = 0
    for where, name, value in response_examples(spec):
        try:
            model_class(models, name).from_dict(copy.deepcopy(value))
        except Exception as e:  # any failure is the finding
            raise AssertionError(f"{where}: does not decode into {name}: {type(e).__name__}: {e}") from e
        decoded += 1
    assert decoded >= 20, f"only {decoded} examples found; did the spec lose its examples?"

    check_time_pass(models, spec)
    check_product_time_pass(models, spec)
    print(f"decoded {decoded} response examples into the generated models; TimePass and ProductTimePass fields checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
