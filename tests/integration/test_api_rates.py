"""GET /api/v1/rates and /rates/countries: the out-of-bundle rates the operator configured,
per MB, minute and SMS, in a currency the operator sells, named in the caller's language;
a country without rates is a problem+json 404."""

from __future__ import annotations

from tests.factories import Api
from topup.catalog import service as catalog
from topup.db.uow import Database

MIB = 1024 * 1024


def test_a_country_s_own_rates_win_and_are_shown_per_unit(api: Api, catalogue: Database
                                                          ) -> None:
    r = api.client.get("/api/v1/rates", params={"country": "th", "currency": "CNY"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["country"], body["name"], body["currency"]) == ("TH", "Thailand", "CNY")
    assert body["rates"]["data"] == {"per": "MB", "amount": 50, "display": "CN¥0.50",
                                     "rate": 50, "per_quantity": MIB}
    assert body["rates"]["voice"]["amount"] == 100 and body["rates"]["voice"]["per"] == "minute"
    assert body["rates"]["sms"]["display"] == "CN¥0.50"


def test_the_cheapest_region_applies_and_names_follow_the_language(api: Api,
                                                                   catalogue: Database) -> None:
    zh = {"Accept-Language": "zh-CN"}
    r = api.client.get("/api/v1/rates", params={"country": "JP", "currency": "CNY"},
                       headers=zh)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "日本"
    assert r.json()["rates"]["data"]["amount"] == 60  # ASIA's 0.60, not GLOBAL's 1.00
    assert r.json()["rates"]["data"]["display"] == "¥0.60"
    # a country only a region covers is named by CLDR
    nz = api.client.get("/api/v1/rates", params={"country": "NZ", "currency": "USD"},
                        headers=zh).json()
    assert nz["name"] == "新西兰" and nz["rates"]["data"]["display"] == "US$0.15"


def test_an_uneven_rate_is_what_one_unit_is_charged(api: Api, catalogue: Database) -> None:
    with catalogue.unit() as uow:  # 7 fen per 100 KiB: one MB is 71.68 fen, charged 72
        catalog.set_oob_rate(uow, "TH", "CNY", "data", 7, 100 * 1024)
    body = api.client.get("/api/v1/rates", params={"country": "TH", "currency": "CNY"}).json()
    assert body["rates"]["data"]["amount"] == 72
    assert (body["rates"]["data"]["rate"], body["rates"]["data"]["per_quantity"]) == (
        7, 100 * 1024)


def test_the_default_currency_and_only_currencies_sold(api: Api, catalogue: Database) -> None:
    r = api.client.get("/api/v1/rates", params={"country": "FR"})
    assert r.status_code == 200 and r.json()["currency"] == catalogue.settings.default_currency
    r = api.client.get("/api/v1/rates", params={"country": "FR", "currency": "CHF"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "currency_not_offered"


def test_unknown_country_is_a_404_problem_in_the_caller_s_language(api: Api,
                                                                   catalogue: Database) -> None:
    for country in ("ZZ", "QQ", "UK", "AQ"):  # not countries, or no rate applies (Antarctica)
        r = api.client.get("/api/v1/rates", params={"country": country, "currency": "CNY"})
        assert r.status_code == 404, (country, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "rates_not_found"
    zh = api.client.get("/api/v1/rates", params={"country": "ZZ"},
                        headers={"Accept-Language": "zh-CN"})
    assert zh.json()["title"] == "该国家或地区暂无资费信息"


def test_the_list_of_countries_with_rates(api: Api, catalogue: Database) -> None:
    every = api.client.get("/api/v1/rates/countries").json()
    codes = [c["code"] for c in every]
    assert {"TH", "JP", "NZ", "FR"} <= set(codes) and "AQ" not in codes
    assert codes == sorted(codes)
    zh = api.client.get("/api/v1/rates/countries", headers={"Accept-Language": "zh"}).json()
    assert {"code": "JP", "name": "日本"} in zh and {"code": "HK", "name": "中国香港"} in zh
    assert api.client.get("/api/v1/rates/countries",
                          params={"currency": "XYZ"}).status_code == 422


def test_no_rates_no_countries(api: Api, db: Database) -> None:
    assert api.client.get("/api/v1/rates/countries").json() == []
    assert api.client.get("/api/v1/rates", params={"country": "JP"}).status_code == 404
