"""Sample pattern detection and value compatibility."""

from __future__ import annotations

import numpy as np
import pytest

from autonomos.dcl.matching.signals import listed_values_similarity
from autonomos.dcl.matching.values import (
    ValueProfile,
    compatibility,
    description_terms,
    key_role,
    mentioned_share,
    profile_values,
    sample_pattern,
    sample_terms,
    target_kind,
)


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ("ana@acme.com", "email"),
        ("https://acme.com/about", "url"),
        ("acme.co.uk", "domain"),
        ("+49 30 1234567", "phone"),
        ("(522) 542-1303", "phone"),
        ("2024-02-29T23:29:14.000+0000", "iso_datetime"),
        ("2024-02-29", "iso_date"),
        (1657287011593, "epoch"),
        (1657287011, "epoch"),
        ("EUR", "currency_code"),
        ("NSW", "text"),
        ("Europe/Berlin", "time_zone"),
        ("eb0eb720-19fa-4c94-bc54-34cca7ea5bed", "uuid"),
        ("0018c000069I7wDBVQ", "id_like"),
        ("true", "boolean"),
        (False, "boolean"),
        (42, "integer"),
        ("12.5", "number"),
        ({"city": "Lyon"}, "structured"),
        ("Lyon", "text"),
    ],
)
def test_sample_pattern(value: object, pattern: str) -> None:
    assert sample_pattern(value) == pattern


def test_profile_needs_a_clear_majority() -> None:
    assert profile_values("string", ["a@b.com", "c@d.org", "e@f.net"]).pattern == "email"
    assert profile_values("string", ["a@b.com", "Lyon", "+49 30 1234567"]).pattern is None
    assert profile_values("string", []).pattern is None


def test_contradicting_patterns_score_low_and_confirming_high() -> None:
    phones = ValueProfile("string", "phone")
    assert compatibility(phones, "string", target_kind("string", ["email"])) < 0.2
    assert compatibility(phones, "string", target_kind("string", ["phone"])) > 0.9
    epoch = ValueProfile("integer", "epoch")
    assert compatibility(epoch, "datetime", "temporal") > 0.8
    assert compatibility(ValueProfile("boolean", "boolean"), "datetime", "temporal") < 0.2


def test_own_key_never_matches_a_reference() -> None:
    assert key_role(["identifier"]) == "id"
    assert key_role(["owner", "identifier"]) == "reference"
    own_key = ValueProfile("string", "id_like", "id")
    assert compatibility(own_key, "string", "reference") < 0.2
    assert compatibility(own_key, "string", "id") > 0.9


def test_samples_listed_in_a_description_are_counted() -> None:
    terms = sample_terms(["NOT_STARTED", "COMPLETED", "Waiting"])
    described = description_terms("Progress state (e.g. not started, completed, scheduled).")
    assert mentioned_share(terms, described) == pytest.approx(2 / 3)


def test_listed_values_matrix_is_mentioned_share_for_every_pair() -> None:
    described = [description_terms(text) for text in (
        "Lead status, e.g. new, working, qualified or lost.", "", "Status of the deal: open, won, lost.",
        "Free text notes.")]
    sources = [sample_terms(["new", "working", "unqualified"]), sample_terms(["won", "lost", "open deal"]),
               sample_terms(["new"]), []]
    expected = [[mentioned_share(terms, d) for d in described] for terms in sources]
    assert listed_values_similarity(sources, described).tolist() == np.float32(expected).tolist()
    assert listed_values_similarity(sources, described)[0, 0] > 0 and listed_values_similarity(sources, described)[1, 2] > 0
