"""Knowledge the matcher takes from the schemas themselves: abbreviations, keys, entities."""

from __future__ import annotations

import re
from pathlib import Path

from autonomos.dcl.matching import propose
from autonomos.dcl.matching.keys import source_keys, target_references
from autonomos.dcl.matching.learned import learn_abbreviations
from autonomos.dcl.matching.probability import fit_isotonic, shipped_calibration, wilson_lower
from autonomos.dcl.matching.schema_files import source_fields, target_fields

MATCHING_DIR = Path(__file__).resolve().parents[3] / "src" / "autonomos" / "dcl" / "matching"
# words of one public benchmark's source and target vocabularies; the matcher must not know them
FORBIDDEN = ("hadm", "icustay", "itemid", "chartevents", "labevents", "omop", "concept_id", "visit_occurrence",
             "visit_detail", "mimic", "subject_id", "cgid", "caregiver", "loinc", "icd9", "drug_exposure")


def test_code_and_knowledge_files_hold_no_benchmark_vocabulary() -> None:
    files = [p for p in MATCHING_DIR.rglob("*") if p.suffix in {".py", ".yaml", ".yml", ".json"}]
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8").lower()
        found = [word for word in FORBIDDEN if re.search(re.escape(word), text)]
        assert not found, f"{path.name} mentions {found}"


def _schema(*tables: tuple[str, str, list[tuple[str, str, str]]]) -> dict:
    return {"tables": [{"name": name, "description": description,
                        "fields": [{"name": f, "type": t, "description": d} for f, t, d in fields]}
                       for name, description, fields in tables]}


def test_abbreviations_are_learned_from_descriptions_and_target_names() -> None:
    source = _schema(("stock", "", [("qty_uom", "string", "unit of measure of the quantity"),
                                    ("wh_code", "string", "warehouse code"),
                                    ("ppu", "number", "")]))
    target = _schema(("inventory", "", [("price_per_unit", "number", ""), ("unit", "string", "")]))
    learned = learn_abbreviations(source_fields(source), target_fields(target), frozenset({"qty", "code"}))
    assert learned["uom"] == ("unit", "of", "measure")
    assert learned["ppu"] == ("price", "per", "unit")
    assert "code" not in learned and "qty" not in learned


SHOP = _schema(
    ("passengers", "Defines each passenger_ref: one row per passenger.", [
        ("passenger_ref", "integer", "a unique identifier of the passenger"),
        ("full_name", "string", "name of the passenger"),
        ("email_address", "string", "where the passenger is emailed"),
    ]),
    ("tenants", "Defines each tenant_key: the vendor's own workspace.", [
        ("tenant_key", "integer", "a unique identifier of the workspace"),
        ("label", "string", "workspace label"),
    ]),
    ("journeys", "Each row is one journey by a passenger.", [
        ("passenger_ref", "integer", "the passenger who travelled"),
        ("tenant_key", "integer", "the workspace the journey was recorded in"),
        ("journey_fare", "number", "amount paid"),
        ("departed_at", "datetime", "when the journey was made"),
        ("passenger_birth_date", "date", "date of birth of the passenger at journey time"),
    ]),
)
TARGET = _schema(
    ("traveller", "People who travel with us.", [
        ("traveller_id", "integer", "unique identifier of the traveller"),
        ("name", "string", "full name"),
        ("email", "string", "email address"),
        ("birth_date", "date", "date of birth"),
    ]),
    ("trip", "One trip of a traveller.", [
        ("trip_id", "integer", "unique identifier of the trip"),
        ("traveller_id", "integer", "the traveller on the trip"),
        ("fare", "number", "price paid for the trip"),
        ("started_at", "datetime", "when the trip started"),
    ]),
)


def test_keys_and_references_come_from_the_schemas() -> None:
    keys = source_keys(source_fields(SHOP))
    assert keys["passenger_ref"].owner == "passengers" and keys["tenant_key"].owner == "tenants"
    references = target_references(target_fields(TARGET))
    named = {(target_fields(TARGET)[i].table, target_fields(TARGET)[i].name): table for i, table in references.items()}
    assert named[("trip", "traveller_id")] == "traveller" and named[("traveller", "traveller_id")] == "traveller"


def test_one_table_feeds_two_entities_and_a_key_maps_to_the_reference() -> None:
    best = {(p.source_table, p.source_field): (p.best.target_table, p.best.target_field) for p in propose(SHOP, TARGET)}
    assert best[("journeys", "passenger_ref")] == ("trip", "traveller_id")
    assert best[("journeys", "journey_fare")] == ("trip", "fare")
    assert best[("journeys", "passenger_birth_date")] == ("traveller", "birth_date")
    assert best[("passengers", "passenger_ref")] == ("traveller", "traveller_id")


def test_a_reference_to_an_entity_the_target_lacks_stays_out_of_auto() -> None:
    proposals = {(p.source_table, p.source_field): p for p in propose(SHOP, TARGET)}
    workspace = proposals[("journeys", "tenant_key")]
    assert workspace.decision != "auto"


def test_calibration_is_monotone_and_its_lower_bound_is_cautious() -> None:
    fitted = fit_isotonic([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
                          [False, True, False, False, True, False, True, True, True, True])
    scores = [i / 100 for i in range(101)]
    estimates = [fitted.estimate(s) for s in scores]
    assert estimates == sorted(estimates) and estimates[0] < estimates[-1]
    assert all(fitted.lower_bound(s) <= fitted.estimate(s) for s in scores)
    shipped = shipped_calibration()
    shipped_estimates = [shipped.estimate(s) for s in scores]
    assert shipped_estimates == sorted(shipped_estimates)
    assert wilson_lower(5, 5) < wilson_lower(50, 50) < 1.0  # few fields never look certain


def test_an_undescribed_variant_borrows_its_closest_siblings_description() -> None:
    target = _schema(("trip", "", [
        ("trip_id", "integer", "a unique identifier of the trip"),
        ("trip_name", "string", ""),
        ("start_date", "date", "the day the trip began"),
        ("start_datetime", "datetime", ""),
        ("start_category_code", "string", "how the start was classified"),
        ("fare", "number", ""),
    ]))
    described = {f.name: f.description for f in target_fields(target)}
    assert described["start_datetime"] == "the day the trip began"
    assert described["trip_name"] == ""  # a bare id sibling lends nothing
    assert described["fare"] == ""


def test_a_field_every_table_has_says_nothing_about_which_table() -> None:
    from autonomos.dcl.matching.concepts import ConceptAnalyzer
    from autonomos.dcl.matching.knowledge import default_knowledge
    from autonomos.dcl.matching.tables import field_specificity
    import numpy as np

    target = _schema(
        ("trip", "", [("trip_id", "integer", ""), ("traveller_id", "integer", ""), ("fare", "number", "")]),
        ("booking", "", [("booking_id", "integer", ""), ("traveller_id", "integer", ""), ("seat", "string", "")]),
        ("luggage", "", [("luggage_id", "integer", ""), ("traveller_id", "integer", ""), ("weight", "number", "")]),
    )
    fields = target_fields(target)
    analyzer = ConceptAnalyzer(default_knowledge())
    bags = [analyzer.concepts(f.name, analyzer.context_concepts(f.table)) for f in fields]
    tables = sorted({f.table for f in fields}, key=[f.table for f in fields].index)
    weights = dict(zip([(f.table, f.name) for f in fields],
                       field_specificity(bags, np.array([tables.index(f.table) for f in fields])).tolist()))
    # every table's own id and the shared reference recur everywhere; a field one table has is specific
    assert weights[("trip", "trip_id")] == weights[("booking", "traveller_id")] == 0.5
    assert weights[("trip", "fare")] == weights[("booking", "seat")] == 1.0


def test_auto_needs_an_entity_that_clearly_leads_unless_the_table_is_named_for_it() -> None:
    from autonomos.dcl.matching.calibration import Ranked, Thresholds, decide
    from autonomos.dcl.matching.typing import Candidate, EntityAssignment

    strong = {"name": 1.0, "name_explained": 1.0, "meaning": 0.9, "value": 0.9, "bare_generic": 0.0}
    candidates = (Candidate("trip", "fare", 0.99, strong), Candidate("trip", "seat", 0.5, strong))
    close = {"trip": 0.82, "booking": 0.80}
    unnamed = Ranked("items", "fare", candidates, EntityAssignment("items", "trip", 0.82, close))
    named = Ranked("trips", "fare", candidates, EntityAssignment("trips", "trip", 0.82, close, named=True))
    thresholds = Thresholds(auto_lower_bound=0.0)
    decision, reasons = decide(unnamed, thresholds, False)
    assert decision == "review" and "another entity fits the table almost as well" in reasons
    assert decide(named, thresholds, False) == ("auto", ())


def test_a_vaguely_named_table_is_placed_by_what_its_fields_mean() -> None:
    from autonomos.dcl.matching.concepts import ConceptAnalyzer
    from autonomos.dcl.matching.embedders import DEFAULT_EMBEDDER, get_embedder
    from autonomos.dcl.matching.entities import table_meaning
    from autonomos.dcl.matching.knowledge import default_knowledge

    source = _schema(("events", "Events that happened.", [
        ("fare_paid", "number", "the price paid for the trip"),
        ("departed", "datetime", "when the trip started"),
        ("traveller", "integer", "the traveller on the trip"),
    ]))
    target = _schema(
        ("trip", "One journey.", [("trip_id", "integer", "unique identifier of the trip"),
                                  ("fare", "number", "price paid for the trip"),
                                  ("started_at", "datetime", "when the trip started")]),
        ("event_log", "Events that were logged.", [("log_id", "integer", "unique identifier of the log entry"),
                                                   ("logged_at", "datetime", "when the entry was written"),
                                                   ("message", "string", "what was logged")]),
    )
    args = (source_fields(source), ["events"], target_fields(target), ["trip", "event_log"],
            ConceptAnalyzer(default_knowledge()), get_embedder(DEFAULT_EMBEDDER), (0.3, 0.15))
    by_words = table_meaning(*args, centroid_share=0.0)[0]
    by_fields_too = table_meaning(*args, centroid_share=0.5)[0]
    # the table's words read like the log; what its fields hold is a trip
    assert by_words[1] > by_words[0] and by_fields_too[0] > by_fields_too[1]
