"""The drift classes from profiles computed in DuckDB: each change is one finding of the right
kind, severity and rule, and nothing changes nothing."""

from __future__ import annotations

from autonomos.aam.connectors.base import FieldSpec, StreamSpec
from autonomos.aam.drift import classify, profile_values, shape_of
from autonomos.aam.drift.fingerprint import StreamShape

ROWS = [{"id": f"r{i}", "name": f"Acme {i}", "stage": ("open", "won", "lost")[i % 3], "amount": 100 + 7 * i,
         "price": f"{10 + i}.50", "closed": f"0{1 + i % 9}/0{1 + i % 9}/2024", "owner": f"u{i % 5}"} for i in range(60)]


def _findings(after_rows, before_rows=ROWS, *, spec_before=None, spec_after=None, mapped=None, pairs=()):
    before_profile, after_profile = profile_values(before_rows), profile_values(after_rows)
    before = shape_of(spec_before, before_profile)
    after = shape_of(spec_after, after_profile, before, before_profile["records"])
    return [(f.kind, f.field, f.severity, f.rule) for f in
            classify(before, after, before_profile, after_profile, mapped=mapped, pairs=pairs)]


def test_nothing_changed_is_nothing_and_the_fingerprint_is_stable():
    assert _findings(list(reversed(ROWS))) == []
    profile = profile_values(ROWS)
    assert shape_of(None, profile).fingerprint() == shape_of(None, profile_values(ROWS[::-1])).fingerprint()


def test_a_rename_on_content_keyed_records_is_judged_by_name_and_values():
    renamed = [{("stage_name" if k == "stage" else k): v for k, v in r.items()} for r in ROWS]
    assert _findings(renamed) == [("field_renamed", "stage", "breaking", "name_and_values")]


def test_a_rename_needs_the_values_to_agree_on_the_same_keys():
    renamed = [{("owner_id" if k == "owner" else k): v for k, v in r.items()} for r in ROWS]
    shuffled = [{**r, "owner_id": f"u{(i + 1) % 5}"} for i, r in enumerate(renamed)]
    pairs = list(zip(ROWS, shuffled, strict=True))
    assert {k for k, *_ in _findings(shuffled, pairs=pairs)} == {"field_removed", "field_added"}
    assert _findings(renamed, pairs=list(zip(ROWS, renamed, strict=True))) == [
        ("field_renamed", "owner", "breaking", "name_and_values")]


def test_unmapped_fields_are_informational_and_have_no_value_drift():
    changed = [{**{k: v for k, v in r.items() if k != "owner"}, "amount": r["amount"] * 100} for r in ROWS]
    assert _findings(changed, mapped=frozenset({"id", "name"})) == [
        ("field_removed", "owner", "informational", "unmapped_field_removed")]


def test_decimal_comma_and_ambiguous_dates():
    comma = [{**r, "price": r["price"].replace(".", ",")} for r in ROWS]
    assert _findings(comma) == [("format_changed", "price", "breaking", "decimal_comma")]
    day_first = [{**r, "closed": f"1{3 + i % 6}/0{1 + i % 9}/2024"} for i, r in enumerate(ROWS)]
    assert _findings(day_first) == []  # dd/mm with day <= 12 before could be either style


def test_key_and_nullability_changes():
    spec = StreamSpec("deals", fields=tuple(FieldSpec(k) for k in ROWS[0]), primary_key=("id",))
    rekeyed = StreamSpec("deals", fields=spec.fields, primary_key=("id", "owner"))
    assert _findings(ROWS, spec_before=spec, spec_after=rekeyed) == [
        ("key_changed", "id,owner", "breaking", "primary_key_changed")]
    sparse = [{**r, "owner": None if i % 2 else r["owner"]} for i, r in enumerate(ROWS)]
    assert _findings(sparse) == [("nullability_changed", "owner", "degrading", "became_nullable"),
                                 ("null_share_jump", "owner", "degrading", "null_share_up_20pts")]


def test_shapes_of_the_field_list_recipe_read_back():
    shape = StreamShape.from_json([{"name": "a", "type": "string"}])
    assert shape.by_name()["a"].nullable and shape.key == ()
    assert StreamShape.from_json(shape.to_json()) == shape
