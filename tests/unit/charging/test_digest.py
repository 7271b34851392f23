"""The digest text is ``json.dumps(..., sort_keys=True)`` exactly: stored digests stay
comparable whichever of the two made them."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from topup.charging.digest import json_text, record_digest, sha256_of
from topup.charging.service import record_hash
from topup.charging.sessions import Answer, Ask, Granted, _digest

scalars = st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.tuples(inner, inner)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=4)
                      | st.dictionaries(st.integers(), inner, max_size=3), max_leaves=20)


@given(values)
def test_the_text_is_what_json_dumps_gives(value: object) -> None:
    assert json_text(value) == json.dumps(value, sort_keys=True)


@given(st.text(max_size=12), st.none() | st.integers(0, 2**40), st.none() | st.text(max_size=3),
       st.lists(st.tuples(st.integers(0, 2**32 - 1) | st.booleans(),
                          st.sampled_from(["data", "voice", "sms", "滴\n\""]),
                          st.none() | st.integers(0, 2**50) | st.booleans(),
                          st.none() | st.integers(0, 2**50)),
                max_size=3))
def test_a_request_digest_is_the_one_stored_before(kind: str, line_id: int | None,
                                                  country: str | None,
                                                  asks: list[tuple[int, str, int | None,
                                                                   int | None]]) -> None:
    made = [Ask(rg, unit, requested=req, used=used) for rg, unit, req, used in asks]
    before = json.dumps([kind, line_id, country, [
        {"rating_group": a.rating_group, "requested": a.requested, "unit": a.unit,
         "used": a.used} for a in made]], sort_keys=True)
    assert _digest(kind, made, line_id, country) == hashlib.sha256(before.encode()).hexdigest()


@given(st.integers() | st.booleans(), st.text(max_size=6), st.integers() | st.booleans(),
       st.text(max_size=3), st.text(max_size=8))
def test_a_record_digest_is_the_one_json_dumps_gives(line_id: int, unit: str, quantity: int,
                                                     country: str, at: str) -> None:
    before = json.dumps([line_id, unit, quantity, country, at])
    assert record_digest(line_id, unit, quantity, country, at) == hashlib.sha256(
        before.encode()).hexdigest()


def test_a_record_hash_is_the_one_stored_before() -> None:
    at = datetime(2026, 12, 5, 20, 0, 1, 250, tzinfo=UTC)
    before = json.dumps([7, "data", 1048576, "TH", at.isoformat()])
    assert record_hash(7, "data", 1048576, "TH", at) == hashlib.sha256(
        before.encode()).hexdigest()
    assert sha256_of(["滴", None]) == hashlib.sha256(
        json.dumps(["滴", None]).encode()).hexdigest()


grants = st.builds(Granted, st.integers(0, 2**32 - 1) | st.booleans(),
                   st.sampled_from(["data", "voice", "sms", "滴\"\\"]),
                   st.sampled_from(["success", "credit_limit_reached", "rating_failed"]),
                   st.integers(0, 2**50) | st.booleans(), st.integers(0, 600),
                   st.booleans() | st.integers(0, 1))


@given(st.text(max_size=12), st.integers(0, 2**31 - 1) | st.booleans(),
       st.sampled_from(["success", "credit_limit_reached"]), st.lists(grants, max_size=3))
def test_an_answer_is_stored_as_insert_would_store_it(ref: str, number: int, result: str,
                                                      granted: list[Granted]) -> None:
    answer = Answer(ref, number, result, tuple(granted))
    assert answer.as_text() == json.dumps(answer.as_json())
    assert Answer.of_json(json.loads(answer.as_text())) == answer
