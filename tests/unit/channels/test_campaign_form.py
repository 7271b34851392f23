"""The console's campaign form translates every refusal the promotions store gives for a
definition: each of the store's sentences has a console sentence (in English and Chinese), so
a reworded check in the store shows up here, not as English on a Chinese page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from topup.channels.admin.campaign_form import DETAILS, store_text
from topup.channels.portal.i18n import translator
from topup.promotions import store
from topup.promotions.errors import InvalidCampaign
from topup.promotions.rules import Scope

START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
END = START + timedelta(days=7)


def spec(kind: str = "discount", **rule: object) -> store.CampaignSpec:
    return store.CampaignSpec(kind, "A campaign", START, END, **rule)  # type: ignore[arg-type]


BAD = [
    spec("raffle", percent_bp=100),
    store.CampaignSpec("discount", " ", START, END, percent_bp=100),
    store.CampaignSpec("discount", "Backwards", END, START, percent_bp=100),
    spec(percent_bp=0),
    spec("code", amount_off=0, currency="CNY"),
    spec(percent_bp=100, total_limit=0),
    spec("spend_save", currency="CNY", tiers=[(n * 100, 1) for n in range(1, 12)]),
    spec("spend_save", tiers=((100_00, 10_00),)),
    spec(),
    spec("spend_save", currency="CNY"),
    spec("code", percent_bp=1000, amount_off=5_00, currency="CNY"),
    spec("bonus", currency="CNY", scope=Scope(topups=True)),
    spec("cashback"),
    spec(percent_bp=100, scope=Scope(topups=True)),
    spec("bonus", tiers=((100_00, 10_00),), currency="CNY"),
    spec(percent_bp=100, scope=Scope(channels=frozenset({"telegraph"}))),
    spec(percent_bp=100, scope=Scope(zones=frozenset({"not a zone"}))),
]


def refusal(bad: store.CampaignSpec) -> InvalidCampaign:
    with pytest.raises(InvalidCampaign) as refused:
        store._checked(bad)  # the whole check, before anything is written
    return refused.value


@pytest.mark.parametrize("bad", BAD)
def test_each_refusal_of_the_store_has_a_translated_console_sentence(
        bad: store.CampaignSpec) -> None:
    exc = refusal(bad)
    english = store_text(translator("en"), exc)
    assert english in {message for _, message in DETAILS}, (exc.detail, english)
    chinese = store_text(translator("zh-CN"), exc)
    assert chinese != english and exc.detail not in chinese


def test_a_sentence_the_table_does_not_know_keeps_the_stores_words() -> None:
    exc = InvalidCampaign("a brand new check", field="name")
    assert "a brand new check" in store_text(translator("en"), exc)
    assert "a brand new check" in store_text(translator("zh-CN"), exc)
