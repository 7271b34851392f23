"""Problem details in the requester's language: the refusals a traveller meets read in
Chinese with ``Accept-Language: zh-CN``; the type, code and extra members do not change."""

from __future__ import annotations

from tests.factories import Api, make_line
from topup.channels.api.details import ZH_DETAILS
from topup.db.uow import Database
from topup.errors import TopupError

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def test_the_same_refusal_in_english_and_chinese(api: Api, catalogue: Database) -> None:
    line = make_line(catalogue, country="TH", secret="7777")
    _, me = api.as_new()
    api.client.post("/api/v1/lines/bind", headers=me,
                    json={"identifier": line.iccid, "secret": "7777"})
    order = {"line_id": line.id, "kind": "topup", "amount": 1, "method": "wallet"}
    en = api.post("/api/v1/orders", me, "k1", json=order).json()
    zh = api.post("/api/v1/orders", me | ZH, "k2", json=order).json()
    assert en["code"] == zh["code"] == "topup_out_of_limits" and en["type"] == zh["type"]
    assert en["detail"].startswith("a top-up must be between")
    assert zh["detail"] == "充值金额须在 ¥10.00 至 ¥5,000.00 之间"
    assert {k: v for k, v in zh.items() if k not in ("title", "detail")} == {
        k: v for k, v in en.items() if k not in ("title", "detail")}
    wrong = api.client.post("/api/v1/lines/bind", headers=me | ZH,
                            json={"identifier": line.iccid, "secret": "0000"}).json()
    assert wrong["detail"] == "号码与卡密不匹配，请核对后重试"
    gone = api.client.get("/api/v1/lines/999999", headers=me | ZH).json()
    assert gone["code"] == "line_not_found" and gone["detail"] == ZH_DETAILS["line_not_found"]
    anon = api.client.get("/api/v1/lines", headers=ZH).json()
    assert anon["detail"] == "登录凭证无效或已过期，请重新登录"


def test_validation_errors_keep_their_field_list(api: Api) -> None:
    _, me = api.as_new()
    r = api.post("/api/v1/orders", me | ZH, "k3", json={"kind": "topup"})
    body = r.json()
    assert r.status_code == 422 and body["code"] == "validation_failed"
    assert body["detail"].startswith("请求的参数或内容无效") and body["errors"]


def test_every_translated_code_is_a_code_the_app_raises() -> None:
    codes = set()
    stack: list[type[TopupError]] = [TopupError]
    while stack:
        cls = stack.pop()
        codes.add(cls.code)
        stack.extend(cls.__subclasses__())
    # codes the problem handlers make themselves (validation, routing)
    codes |= {"validation_failed", "not_found"}
    assert set(ZH_DETAILS) <= codes, set(ZH_DETAILS) - codes
