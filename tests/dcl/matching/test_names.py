"""Identifier splitting, stemming, segmentation and concept extraction."""

from __future__ import annotations

import pytest

from autonomos.dcl.matching.concepts import ConceptAnalyzer, noise_prefixes
from autonomos.dcl.matching.knowledge import TIME_CONCEPT, default_knowledge
from autonomos.dcl.matching.names import segment, split_identifier, stem, vocabulary_from


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("AnnualRevenue", ["annual", "revenue"]),
        ("hs_lastmodifieddate", ["hs", "lastmodifieddate"]),
        ("metadata.durationMilliseconds", ["metadata", "duration", "milliseconds"]),
        ("Customer_Tier__c", ["customer", "tier", "c"]),
        ("Pricebook2Id", ["pricebook", "id"]),
        ("HTTPStatusCode", ["http", "status", "code"]),
        ("address2", ["address"]),
    ],
)
def test_split_identifier(name: str, words: list[str]) -> None:
    assert split_identifier(name) == words


@pytest.mark.parametrize(("a", "b"), [("created", "create"), ("companies", "company"), ("modified", "modify"), ("meetings", "meeting")])
def test_stem_folds_inflections_together(a: str, b: str) -> None:
    assert stem(a) == stem(b)


def test_segment_splits_run_together_words_into_known_words() -> None:
    vocabulary = vocabulary_from(["number", "of", "employee", "close", "date", "owner"])
    assert segment("numberofemployees", vocabulary) == ["number", "of", "employees"]
    assert segment("closedate", vocabulary) == ["close", "date"]
    assert segment("ownership", vocabulary) == ["ownership"]  # no 'ship': stays whole


@pytest.fixture(scope="module")
def analyzer() -> ConceptAnalyzer:
    return ConceptAnalyzer(default_knowledge())


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("NumberOfEmployees", "employee_count"),
        ("zip", "postal_code"),
        ("createdate", "created_at"),
        ("lastmodifieddate", "updated_at"),
        ("jobtitle", "job_title"),
        ("HasOptedOutOfEmail", "email_opt_out"),
        ("yearly_revenue", "AnnualRevenue"),
        ("cust_addr", "customer_address"),
    ],
)
def test_synonyms_and_abbreviations_meet_in_concepts(analyzer: ConceptAnalyzer, left: str, right: str) -> None:
    strip = lambda bag: {c for c, w in bag.items() if w >= 0.5}  # noqa: E731 - weak modifiers aside
    assert strip(analyzer.concepts(left)) == strip(analyzer.concepts(right))


def test_time_markers_become_one_concept(analyzer: ConceptAnalyzer) -> None:
    assert TIME_CONCEPT in analyzer.concepts("CreatedDate")
    assert TIME_CONCEPT in analyzer.concepts("created_at")


@pytest.mark.parametrize(
    ("table", "entity"),
    [("companies", "account"), ("Organization", "account"), ("deals", "opportunity"), ("persons", "contact"), ("owners", "user"), ("engagements", "activity"), ("products", "product"), ("widgets", None)],
)
def test_entity_of_table_names(analyzer: ConceptAnalyzer, table: str, entity: str | None) -> None:
    assert analyzer.entity(table) == entity


def test_vendor_prefix_is_detected_as_noise(analyzer: ConceptAnalyzer) -> None:
    names = ["hs_object_id", "hs_lead_status", "hs_timezone", "hs_analytics_source", "name", "email"]
    assert noise_prefixes(names, analyzer) == frozenset({"hs"})
