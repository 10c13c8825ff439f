"""Each transform, compiled to DuckDB SQL and run in an ephemeral DuckDB (external access off)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from autonomos.dcl.mappings.exceptions import TransformError
from autonomos.dcl.mappings.transforms import compile_fields, select_sql
from autonomos.engines.duckdb import ephemeral_duckdb


def run(fields: list[dict], types: dict[str, str], *payloads: dict) -> list[tuple[dict, str | None]]:
    extract, outputs = select_sql(compile_fields(fields, types))
    with ephemeral_duckdb("256MB") as conn:
        conn.register("batch", {"seq": np.arange(len(payloads)),
                                "payload": np.array([json.dumps(p) for p in payloads], dtype=object)})
        rows = conn.execute(f"SELECT {outputs} FROM (SELECT seq, payload, {extract} AS v FROM batch) ORDER BY seq"
                            ).fetchall()
    return [({k: v for k, v in json.loads(data).items() if v is not None}, error) for data, error in rows]


def one(transform, value, type_: str = "string"):
    [(data, error)] = run([{"source_field": "x", "canonical_field": "y", "transform": transform}], {"y": type_},
                          {"x": value})
    return data.get("y"), error


def test_casts_coerce_to_the_canonical_type():
    assert one(None, "42", "integer") == (42, None)
    assert one(None, "42.0", "integer") == (42, None)
    assert one(None, 7, "number") == (7.0, None)
    assert one(None, "true", "boolean") == (True, None)
    assert one({"op": "cast", "to": "number"}, "12.5", "string") == ("12.5", None)
    assert one(None, "12.5", "integer") == (None, "y: cannot convert x value '12.5' to integer")
    assert one(None, "abc", "number") == (None, "y: cannot convert x value 'abc' to number")


def test_trim_lower_upper():
    assert one([{"op": "trim"}, {"op": "lower"}], "  Ada@Example.COM ") == ("ada@example.com", None)
    assert one({"op": "upper"}, "usd") == ("USD", None)


def test_date_parsing_with_and_without_a_format():
    assert one(None, "2024-03-05T10:00:00+02:00", "datetime") == ("2024-03-05T08:00:00Z", None)
    assert one(None, "2024-03-05", "date") == ("2024-03-05", None)
    assert one({"op": "parse_date", "format": "%m/%d/%Y"}, "03/04/2024", "date") == ("2024-03-04", None)
    assert one({"op": "parse_date", "format": "%m/%d/%Y"}, "4 March", "date") == (
        None, "y: cannot parse as a date (%m/%d/%Y) the x value '4 March'")


def test_epoch_seconds_and_millis():
    assert one({"op": "epoch", "unit": "s"}, 1700000000, "datetime") == ("2023-11-14T22:13:20Z", None)
    assert one({"op": "epoch", "unit": "ms"}, "1700000000123", "datetime") == ("2023-11-14T22:13:20.123000Z", None)
    assert one({"op": "epoch", "unit": "ms"}, "1700000000123", "date") == ("2023-11-14", None)
    assert one({"op": "epoch", "unit": "ms"}, "soon", "datetime")[1] == "y: cannot read epoch ms from the x value 'soon'"
    # milliseconds read as seconds would be a date in the year 55840: the record fails instead
    assert one({"op": "epoch", "unit": "s"}, "1700000000000", "datetime")[1] == (
        "y: cannot read epoch s from the x value '1700000000000'")


def test_unit_scaling_cents_to_amount():
    assert one({"op": "scale", "factor": 0.01}, "123456", "number") == (1234.56, None)
    assert one({"op": "scale", "factor": 0.01}, 995, "number") == (9.95, None)


def test_value_maps_with_keep_or_null_otherwise():
    stages = {"op": "map", "values": {"Closed Won": "closed_won", "Negotiation/Review": "negotiation"}}
    assert one(stages, "Closed Won") == ("closed_won", None)
    assert one(stages, "Prospecting") == ("Prospecting", None)
    assert one({**stages, "otherwise": "null"}, "Prospecting") == (None, None)
    assert one({"op": "map", "values": {"Y": True, "N": False}}, "N", "boolean") == (False, None)


def test_concatenation_skips_missing_parts():
    concat = {"op": "concat", "with": ["last"], "separator": " "}
    fields = [{"source_field": "first", "canonical_field": "full_name", "transform": concat}]
    assert run(fields, {"full_name": "string"}, {"first": "Ada", "last": "Lovelace"}, {"first": "Cher"}) == [
        ({"full_name": "Ada Lovelace"}, None), ({"full_name": "Cher"}, None)]


def test_splitting_a_full_name_into_given_and_family_names():
    fields = [{"source_field": "name", "canonical_field": "first_name", "transform": {"op": "split", "part": 0}},
              {"source_field": "name", "canonical_field": "last_name", "transform": {"op": "split", "part": "rest"}},
              {"source_field": "name", "canonical_field": "title", "transform": {"op": "split", "part": -1}}]
    types = {"first_name": "string", "last_name": "string", "title": "string"}
    assert run(fields, types, {"name": " Ada King Lovelace "}, {"name": "Cher"}) == [
        ({"first_name": "Ada", "last_name": "King Lovelace", "title": "Lovelace"}, None),
        ({"first_name": "Cher", "title": "Cher"}, None)]


def test_default_fills_missing_values():
    assert one({"op": "default", "value": "USD"}, None) == ("USD", None)
    assert one({"op": "default", "value": "USD"}, "EUR") == ("EUR", None)
    assert one({"op": "default", "value": 0}, None, "integer") == (0, None)


def test_nested_source_fields_and_quotes_are_safe():
    fields = [{"source_field": "address.city", "canonical_field": "mailing_city"},
              {"source_field": "it's", "canonical_field": "title", "transform": {"op": "default", "value": "o'k"}}]
    assert run(fields, {"mailing_city": "string", "title": "string"}, {"address": {"city": "Paris"}}) == [
        ({"mailing_city": "Paris", "title": "o'k"}, None)]


def test_unknown_steps_and_fields_are_refused():
    with pytest.raises(TransformError):
        compile_fields([{"source_field": "x", "canonical_field": "y", "transform": {"op": "eval"}}], {"y": "string"})
    with pytest.raises(TransformError):
        compile_fields([{"source_field": "x", "canonical_field": "nope"}], {"y": "string"})
