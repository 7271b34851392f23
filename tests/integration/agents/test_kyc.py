"""KYC at the counter: where a country's rule applies, a top-up needs the buyer's ID; the
record keeps only a mask and a keyed hash, and the full number is nowhere in the database."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from tests.factories import make_line
from tests.integration.agents.conftest import Counter, open_counter, with_settings
from topup.agents import kyc
from topup.agents.tables import agent_kyc_records
from topup.db.uow import Database

PASSPORT = "E12345678"


@pytest.fixture
def kyc_counter(db: Database) -> Counter:
    return open_counter(with_settings(db, kyc_countries=("CN",)))


def every_value(db: Database) -> list[str]:
    """Every value of every row of every table, as text."""
    found: list[str] = []
    meta = MetaData()
    meta.reflect(db.engine)
    with db.unit(readonly=True) as uow:
        # in any order: on PostgreSQL a foreign key to a table partitioned by id (transfers'
        # pending_id) is reflected as keys to each of its partitions, a cycle to sort
        for table in meta.tables.values():
            for row in uow.conn.execute(select(table)):
                found.extend(str(v) for v in row)
    return found


def test_kyc_is_required_where_the_line_or_agent_country_asks(kyc_counter: Counter) -> None:
    c = kyc_counter
    cn_line = make_line(c.db, msisdn="+8613800138000", country="CN")
    hk_line = make_line(c.db, msisdn="+85261234567", country="HK")
    hk_shop = c.agent("HK shop", country="HK")
    cn_shop = c.agent("Shenzhen shop", country="CN")
    for shop in (hk_shop, cn_shop):
        c.fund(shop, 500_00)
    r = c.topup(hk_shop, "+8613800138000", 50_00)
    assert r.status_code == 422 and r.json()["code"] == "kyc_required"
    assert r.json()["country"] == "CN" and "passport" in r.json()["id_types"]
    assert c.wallet(cn_line.id) == 0 and c.float_of(hk_shop) == 500_00
    look = c.api.client.get("/api/v1/pos/lines/+8613800138000", headers=c.logins[hk_shop])
    assert look.json()["kyc_required"] == "CN"
    assert c.topup(hk_shop, "+85261234567", 50_00).status_code == 201, "HK: no rule"
    r = c.topup(hk_shop, "+85261234567", 10_00, id_type="passport", id_number="K99887766")
    assert r.status_code == 201 and r.json()["kyc"] is None, "no rule: the ID is not kept"
    r = c.topup(cn_shop, "+85261234567", 50_00)
    assert r.status_code == 422 and r.json()["code"] == "kyc_required", "agent in CN"
    r = c.topup(cn_shop, "+85261234567", 50_00, id_type="passport", id_number="E1")
    assert r.status_code == 422 and r.json()["code"] == "invalid_kyc"
    r = c.topup(cn_shop, "+85261234567", 50_00, id_type="library_card", id_number=PASSPORT)
    assert r.status_code == 422 and r.json()["code"] == "invalid_kyc"
    assert c.wallet(hk_line.id) == 60_00
    assert not [v for v in every_value(c.db) if "99887766" in v]


def test_the_record_is_masked_and_hashed_never_the_number(kyc_counter: Counter) -> None:
    c = kyc_counter
    line = make_line(c.db, msisdn="+8613800138000", country="CN")
    shop = c.agent("HK shop", country="HK")
    c.fund(shop, 500_00)
    r = c.topup(shop, "+8613800138000", 50_00, id_type="passport", id_number="e 1234-5678")
    assert r.status_code == 201, r.text
    assert r.json()["kyc"] == {"id_type": "passport", "id_masked": "****5678", "country": "CN"}
    assert PASSPORT not in r.text
    records = c.api.client.get(f"/api/v1/admin/agents/{shop}/kyc", headers=c.staff).json()
    assert [(x["id_type"], x["id_masked"], x["line_id"]) for x in records] == [
        ("passport", "****5678", line.id)]
    values = every_value(c.db)
    assert not [v for v in values if PASSPORT in v.upper().replace("-", "").replace(" ", "")]
    with c.db.unit(readonly=True) as uow:
        again = kyc.find_document(uow, "passport", "E12345678")
        stored_hash: Any = uow.conn.execute(select(agent_kyc_records.c.id_hash)).scalar_one()
    assert [x.id_masked for x in again] == ["****5678"]
    plain = hashlib.sha256(f"passport\x00{PASSPORT}".encode()).hexdigest()
    assert stored_hash != plain and len(stored_hash) == 64, "the hash is keyed"


def test_a_retry_with_the_id_replays_without_storing_it(kyc_counter: Counter) -> None:
    c = kyc_counter
    make_line(c.db, msisdn="+8613800138000", country="CN")
    shop = c.agent("HK shop", country="HK")
    c.fund(shop, 500_00)
    first = c.topup(shop, "+8613800138000", 50_00, key="sale-1", id_type="national_id",
                    id_number="110101199003074518")
    again = c.topup(shop, "+8613800138000", 50_00, key="sale-1", id_type="national_id",
                    id_number="110101199003074518")
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert not [v for v in every_value(c.db) if "110101199003074518" in v]
    other = c.topup(shop, "+8613800138000", 50_00, key="sale-1", id_type="national_id",
                    id_number="110101199003074519")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
