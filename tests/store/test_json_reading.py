"""jsonb reads back exactly as stored: the fast reader must not round integers beyond 64 bits
(which jsonb keeps exactly) to floats, nor refuse numbers beyond a double."""

from __future__ import annotations

from sqlalchemy import text


def test_jsonb_numbers_read_back_exactly(rt, make_tenant):
    tenant = make_tenant("json").id
    document = ('{"big": 123456789012345678901234567890, "neg": -9223372036854775809, "small": 42,'
                ' "half": 1.5, "text": "caf\\u00e9 \\ud83d\\ude00", "nested": {"list": [1, null, true]}}')
    with rt.db.tenant(tenant) as session:
        value = session.execute(text("SELECT CAST(:doc AS jsonb)"), {"doc": document}).scalar_one()
        huge = session.execute(text("SELECT CAST('[1e400]' AS jsonb)")).scalar_one()
    assert value == {"big": 123456789012345678901234567890, "neg": -9223372036854775809, "small": 42,
                     "half": 1.5, "text": "café 😀", "nested": {"list": [1, None, True]}}
    assert isinstance(value["big"], int) and isinstance(value["small"], int)
    assert huge[0] == 10**400  # the server writes it out in full
