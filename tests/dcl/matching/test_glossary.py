"""A tenant's glossary: its terms are read as their meaning in names; a malformed one is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from autonomos.cli.match_cmd import match
from autonomos.dcl.matching import SchemaFormatError, propose
from autonomos.dcl.matching.glossary import normalise_glossary

SOURCE = {
    "system": "warehouse",
    "tables": [{"name": "stock_items", "fields": [
        {"name": "item_id", "type": "integer", "samples": [1001, 1002, 1003]},
        {"name": "item_name", "type": "string", "samples": ["Hex bolt M6", "Washer 8mm"]},
        {"name": "rop", "type": "integer", "samples": [40, 25, 60]},
        {"name": "on_hand", "type": "integer", "samples": [130, 12, 75]},
    ]}],
}
TARGET = {
    "name": "inventory",
    "tables": [{"name": "item", "description": "A product kept in stock.", "fields": [
        {"name": "id", "type": "integer", "description": "Unique identifier of the item."},
        {"name": "name", "type": "string", "description": "What the item is called."},
        {"name": "quantity_on_hand", "type": "integer", "description": "Units in the warehouse now."},
        {"name": "reorder_point", "type": "integer", "description": "Stock level at which more is ordered."},
        {"name": "units_sold", "type": "integer", "description": "Units sold so far this year."},
        {"name": "safety_stock", "type": "integer", "description": "Units kept back against surprises."},
        {"name": "lead_time_days", "type": "integer", "description": "Days a supplier takes to deliver."},
    ]}],
}
GLOSSARY = {"ROP": "reorder point"}


def _best(proposals: list, field: str) -> str:
    found = next(p for p in proposals if p.source_field == field)
    return found.candidates[0].target_field


def test_a_glossary_term_makes_a_match_that_fails_without_it() -> None:
    without = propose(SOURCE, TARGET)
    assert _best(without, "rop") != "reorder_point"
    with_glossary = propose(SOURCE, {**TARGET, "glossary": GLOSSARY})
    assert _best(with_glossary, "rop") == "reorder_point"
    # the other fields are matched as before
    assert {p.source_field: _best(with_glossary, p.source_field) for p in with_glossary if p.source_field != "rop"} == {
        p.source_field: _best(without, p.source_field) for p in without if p.source_field != "rop"}


@pytest.mark.parametrize(("glossary", "problem"), [
    (["uom", "unit of measure"], "must be a mapping of term to meaning"),
    ({"ship to": "delivery address"}, "must be one word of letters"),
    ({"po2": "purchase order"}, "must be one word of letters"),
    ({True: "yes"}, "read by YAML as booleans"),
    ({"uom": ""}, "its meaning is empty"),
    ({"uom": ["unit", "of", "measure"]}, "its meaning must be text"),
    ({"uom": "unit of measure", "UOM": "units"}, "appears twice"),
    ({"uom": "uom"}, "means itself"),
    ({"uom": "x" * 300}, "over the limit"),
])
def test_a_malformed_glossary_is_refused_naming_the_problem(glossary: object, problem: str) -> None:
    with pytest.raises(SchemaFormatError, match=problem):
        normalise_glossary(glossary)
    with pytest.raises(SchemaFormatError, match=problem):
        propose(SOURCE, {**TARGET, "glossary": glossary})


def test_glossary_terms_are_kept_in_lower_case_and_order() -> None:
    assert normalise_glossary({"UOM": " unit  of measure ", "eta": "estimated time of arrival"}) == {
        "eta": "estimated time of arrival", "uom": "unit of measure"}
    assert normalise_glossary(None) == {}


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("match")(match)
    app.command("version")(lambda: None)
    return app


def test_aos_match_reads_the_glossary_of_the_target_file(tmp_path: Path) -> None:
    source, target, bad = tmp_path / "s.schema.json", tmp_path / "t.schema.json", tmp_path / "bad.schema.json"
    source.write_text(json.dumps(SOURCE))
    target.write_text(json.dumps({**TARGET, "glossary": GLOSSARY}))
    bad.write_text(json.dumps({**TARGET, "glossary": {"ship to": "delivery address"}}))
    result = CliRunner().invoke(_app(), ["match", "--source", str(source), "--target", str(target), "--json"])
    assert result.exit_code == 0, result.output
    rop = next(m for m in json.loads(result.stdout)["mappings"] if m["source_field"] == "rop")
    assert rop["candidates"][0]["target_field"] == "reorder_point"
    refused = CliRunner().invoke(_app(), ["match", "--source", str(source), "--target", str(bad)])
    assert refused.exit_code == 2 and "glossary term 'ship to' must be one word" in refused.output
