"""/api/v1/tickets on SQLite and PostgreSQL: a traveller opens a request about their order,
reads it, writes in it; another traveller reaches none of it and cannot name the first one's
order or line; staff notes never show; problems in the caller's language."""

from __future__ import annotations

from tests.factories import make_user
from tests.integration.support.world import pending_payment
from topup.db.uow import Database
from topup.support import service as support


def test_a_traveller_opens_reads_and_writes_their_request(db: Database) -> None:
    t = pending_payment(db)
    api, me = t.api, t.shop.me
    made = api.client.post("/api/v1/tickets", headers=me, json={
        "subject": "Top-up missing", "body": "Paid, nothing arrived.",
        "order_id": t.order["id"]})
    assert made.status_code == 201, made.text
    ticket = made.json()
    assert (ticket["order_id"], ticket["line_id"], ticket["state"], ticket["source"]) == (
        t.order["id"], t.shop.line_id, "open", "api")
    agent = make_user(db, "support")
    with db.unit() as uow:
        support.note(uow, ticket["id"], agent.id, "internal only")
        support.reply(uow, ticket["id"], agent.id, "Looking into it")
    read = api.client.get(f"/api/v1/tickets/{ticket['id']}", headers=me).json()
    assert [m["kind"] for m in read["messages"]] == ["customer", "staff"]
    assert read["state"] == "waiting"
    wrote = api.client.post(f"/api/v1/tickets/{ticket['id']}/messages", headers=me,
                            json={"body": "Thanks"})
    assert wrote.status_code == 201 and wrote.json()["state"] == "open"
    assert [x["id"] for x in api.client.get("/api/v1/tickets", headers=me).json()] == [
        ticket["id"]]


def test_others_reach_nothing(db: Database) -> None:
    t = pending_payment(db)
    api = t.api
    ticket = api.client.post("/api/v1/tickets", headers=t.shop.me, json={
        "subject": "Mine", "body": "Mine"}).json()
    _, other = api.as_new()
    assert api.client.get("/api/v1/tickets", headers=other).json() == []
    assert api.client.get(f"/api/v1/tickets/{ticket['id']}", headers=other).status_code == 404
    r = api.client.post(f"/api/v1/tickets/{ticket['id']}/messages", headers=other,
                        json={"body": "hi"})
    assert r.status_code == 404 and r.json()["code"] == "ticket_not_found"
    for about in ({"order_id": t.order["id"]}, {"line_id": t.shop.line_id}):
        r = api.client.post("/api/v1/tickets", headers={**other, "Accept-Language": "zh-CN"},
                            json={"subject": "x", "body": "y", **about})
        assert r.status_code == 422 and r.json()["code"] == "invalid_ticket"
        assert r.json()["title"] == "咨询内容无效"
    assert api.client.get("/api/v1/tickets", headers=t.shop.staff).status_code == 403
    assert api.client.get("/api/v1/tickets").status_code == 401
    blank = api.client.post("/api/v1/tickets", headers=t.shop.me,
                            json={"subject": "  ", "body": "x"})
    assert blank.status_code == 422
