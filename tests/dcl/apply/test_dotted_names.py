"""A key holding a dot survives as a name (``first\\.name``); a plain dotted path still means
nesting, as in every mapping version published before escapes existed."""

from __future__ import annotations

from autonomos.dcl.mappings.paths import join_path, split_path
from autonomos.dcl.profiling import profile_records


def test_paths_escape_dots_and_backslashes_and_old_paths_read_as_before():
    assert split_path("address.city") == ["address", "city"]
    assert split_path("first\\.name") == ["first.name"]
    assert split_path("a\\\\.b") == ["a\\", "b"]
    for keys in (["first.name"], ["a\\", "b"], ["x.y", "z.w", "plain"]):
        assert split_path(join_path(keys)) == keys


def test_profiling_names_a_dotted_key_with_its_escape():
    profile = profile_records([{"first.name": "Ada", "address": {"city": "Paris"}}])
    assert {f["path"] for f in profile["fields"]} == {"first\\.name", "address.city"}


def test_a_dotted_column_is_mapped_by_name_and_nested_paths_still_work(source):
    source.land({"id": "c1", "first.name": "Ada", "address": {"city": "Paris"}, "first": {"name": "Nested"}})
    result = source.publish("contact", [
        {"source_field": "id", "canonical_field": "id"},
        {"source_field": "first\\.name", "canonical_field": "first_name"},
        {"source_field": "first.name", "canonical_field": "last_name"},
    ])
    assert result.applied.counts.quarantined == 0
    assert source.records("contact")["c1"] == {"id": "c1", "first_name": "Ada", "last_name": "Nested"}


def test_fields_differing_only_in_case_map_to_their_own_values(source):
    source.land({"id": "c1", "email": "lower@x.io", "Email": "UPPER@X.IO"})
    result = source.publish("contact", [
        {"source_field": "id", "canonical_field": "id"},
        {"source_field": "email", "canonical_field": "email"},
        {"source_field": "Email", "canonical_field": "first_name"},
    ])
    assert result.applied.counts.quarantined == 0
    assert source.records("contact")["c1"] == {"id": "c1", "email": "lower@x.io", "first_name": "UPPER@X.IO"}
    profile = profile_records([{"email": "a", "Email": "B"}])
    assert {f["path"]: f["top_values"][0]["value"] for f in profile["fields"]} == {"email": "a", "Email": "B"}
