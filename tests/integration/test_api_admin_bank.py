"""Finance over the admin API: bank statements in, the review queue worked."""

from __future__ import annotations

from pathlib import Path

from tests.factories import Api, make_user
from topup.db.uow import Database
from topup.payments.providers import bank
from topup.payments.registry import ProviderContext

SAMPLES = Path(__file__).parent / "payments" / "bank_samples"
ENV = {"TOPUP_BANK_ACCOUNT_NAME": "Wanderlust Mobile GmbH",
       "TOPUP_BANK_IBAN": "DE89370400440532013000", "TOPUP_BANK_BIC": "COBADEFFXXX",
       "TOPUP_BANK_NAME": "Commerzbank"}


def test_statement_upload_and_review_resolution(catalogue: Database) -> None:
    provider = bank.from_settings(ProviderContext(ENV, catalogue.settings, catalogue))
    api = Api(catalogue, {"bank": provider})
    staff = api.login(str(make_user(catalogue, "admin").email))
    url = "/api/v1/admin/bank/statements?format=camt053"
    r = api.client.post(url, headers=staff,
                        content=(SAMPLES / "camt053_001_08_review.xml").read_bytes())
    assert r.status_code == 200, r.text
    assert r.json()["review"] == 7 and r.json()["credited"] == 0
    again = api.client.post(url, headers=staff,
                            content=(SAMPLES / "camt053_001_08_review.xml").read_bytes())
    assert again.json()["review"] == 0, "a re-imported statement adds nothing"
    hostile = api.client.post(url, headers=staff,
                              content=(SAMPLES / "camt053_doctype.xml").read_bytes())
    assert hostile.status_code == 422 and hostile.json()["code"] == "bank_statement_rejected"
    _, customer = api.as_new()
    assert api.client.get("/api/v1/admin/bank/review", headers=customer).status_code == 403
    items = api.client.get("/api/v1/admin/bank/review", headers=staff).json()
    assert len(items) == 7
    first = items[0]["id"]
    r = api.client.post(f"/api/v1/admin/bank/review/{first}/resolve", headers=staff,
                        json={"action": "credit_order", "note": "try to credit"})
    assert r.status_code == 409
    r = api.client.post(f"/api/v1/admin/bank/review/{first}/resolve", headers=staff,
                        json={"action": "dismiss", "note": "returned to the payer's bank"})
    assert r.status_code == 200 and r.json()["state"] == "dismissed"
    assert len(api.client.get("/api/v1/admin/bank/review", headers=staff).json()) == 6
