"""Memory as a matcher signal: no recollections change nothing; close ones boost, and lift to
`auto` only when very close and supported by the field's own name or meaning."""

from __future__ import annotations

from autonomos.dcl.matching import Recollection, match_schemas, propose, render
from autonomos.dcl.matching.memory import memory_text
from autonomos.dcl.matching.schema_files import load_json
from autonomos.dcl.matching.texts import source_field_text
from autonomos.dcl.matching.typing import SourceField


def test_without_recollections_the_output_is_the_stateless_matchers(held_out):
    source, target, _ = held_out
    assert render(propose(source, target, memory=[]))["mappings"] == match_schemas(source, target)["mappings"]
    assert propose(source, target, memory=None) == propose(source, target)


def test_a_case_or_separator_rename_is_the_same_text_for_memory():
    assert memory_text(SourceField("CUST_MASTER", "CUST_NM")) == memory_text(SourceField("CustMaster", "CustNm"))
    assert source_field_text("deals", "value", "number", ["currency"]) == "deals . value (number) looks like currency"


def test_a_close_example_boosts_its_target_and_an_unknown_target_is_ignored(cases_dir):
    source = load_json(cases_dir / "legacy_crm_v2.schema.json")
    target = {"tables": [{"name": "opportunity", "fields": [
        {"name": "stage", "type": "string"}, {"name": "probability", "type": "number"},
        {"name": "is_won", "type": "boolean"}, {"name": "amount", "type": "number"}]}]}
    plain = {(p.source_table, p.source_field): p for p in propose(source, target)}
    recalled = [Recollection("SalesDeals", "WinPct", "opportunity", "probability", 1.0, "v:WIN_PCT"),
                Recollection("SalesDeals", "PhaseCd", "opportunity", "gone_field", 1.0, "v:PHASE_CD")]
    remembered = {(p.source_table, p.source_field): p for p in propose(source, target, memory=recalled)}
    win_before, win_after = plain[("SalesDeals", "WinPct")], remembered[("SalesDeals", "WinPct")]
    assert win_before.best.target_field != "probability"
    assert win_after.best.target_field == "probability" and win_after.best.signals["memory"] == 1.0
    ranked = [(c.target_field, c.score) for c in remembered[("SalesDeals", "PhaseCd")].candidates]
    assert ranked == [(c.target_field, c.score) for c in plain[("SalesDeals", "PhaseCd")].candidates]


def test_memory_alone_never_makes_a_decision_automatic():
    """An example pointing at a target the field's name and meaning do not support stays in review."""
    source = {"tables": [{"name": "deals", "fields": [{"name": "zq_x", "type": "number", "samples": [1.5, 2.0]}]}]}
    target = {"tables": [{"name": "opportunity", "fields": [{"name": "amount", "type": "number"},
                                                            {"name": "name", "type": "string"}]}]}
    proposal = propose(source, target, memory=[Recollection("deals", "zq_x", "opportunity", "amount", 1.0, "v:zq")])[0]
    assert proposal.best.target_field == "amount" and proposal.best.signals["memory"] == 1.0
    assert proposal.decision != "auto" and proposal.reasons


def test_a_rejected_example_demotes_its_target_and_keeps_it_from_auto():
    """A person rejected `title` for a field spelled like this one: it no longer comes first, nor `auto`."""
    source = {"tables": [{"name": "people", "fields": [
        {"name": "Title", "type": "string", "samples": ["Countess", "Rear Admiral"]}]}]}
    target = {"tables": [{"name": "contact", "fields": [
        {"name": "title", "type": "string", "description": "Job title or position."},
        {"name": "department", "type": "string"}, {"name": "full_name", "type": "string"}]}]}
    plain = propose(source, target)[0]
    assert (plain.best.target_field, plain.decision) == ("title", "auto")

    rejected = Recollection("people", "Title", "contact", "title", 1.0, "p:Title", rejected=True)
    after = propose(source, target, memory=[rejected])[0]
    assert after.best.target_field != "title" and after.decision != "auto"
    title = next(c for c in after.candidates if c.target_field == "title")
    assert title.signals["rejected"] == 1.0 and title.score < plain.best.score * 0.2

    # far from the field (below the rejection floor) a rejection says nothing; close, it still blocks `auto`
    distant = propose(source, target, memory=[Recollection("people", "Title", "contact", "title", 0.65, "p:x",
                                                           rejected=True)])[0]
    assert [(c.target_field, c.score) for c in distant.candidates] == [(c.target_field, c.score)
                                                                        for c in plain.candidates]
    assert distant.decision == "auto"
    close = propose(source, target, memory=[Recollection("people", "Title", "contact", "title", 0.75, "p:y",
                                                         rejected=True)])[0]
    assert close.decision == "review" and "a person rejected this target for a field like it" in close.reasons
