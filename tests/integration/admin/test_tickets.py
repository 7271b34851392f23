"""The support queue in the console: support and admin work it, finance never sees it; the
queue filters by state, age and assignee; a ticket's page shows the order, line and payment
beside the conversation with internal notes; answers, notes, assignment, close and reopen;
the response-time report."""

from __future__ import annotations

import re

from tests.integration.admin.conftest import StaffBrowser
from tests.integration.portal.conftest import csrf_of
from tests.integration.support.world import pending_payment
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.support import pending
from topup.support import service as support


def _late_ticket(db: Database, clock: FrozenClock) -> tuple[int, int]:
    t = pending_payment(db)
    clock.advance(minutes=31)
    assert pending.open_for_late_payments(db) == 1
    with db.unit(readonly=True) as uow:
        [ticket] = support.tickets_of(uow, t.user.id)
    return ticket.id, int(t.order["id"])


def test_support_works_a_late_payment_ticket(db: Database, clock: FrozenClock,
                                             staff: StaffBrowser) -> None:
    ticket_id, order_id = _late_ticket(db, clock)
    b = staff("support")
    queue = b.get("/admin/tickets")
    assert queue.status_code == 200 and f'data-ticket="{ticket_id}"' in queue.text
    assert f"Payment for order {order_id} not received yet" in queue.text
    assert 'href="/admin/tickets"' in queue.text  # the section in the console's menu
    page = b.get(f"/admin/tickets/{ticket_id}")
    assert f'href="/admin/orders/{order_id}"' in page.text and 'id="ticket-line"' in page.text
    assert "Payment reference" in page.text
    token = csrf_of(page.text)
    clock.advance(minutes=12)
    for action, data in (("note", {"body": "Checked the sandbox: no capture yet."}),
                         ("assign", {"assignee": "me"}),
                         ("reply", {"body": "We are on it with the payment provider."})):
        r = b.client.post(f"/admin/tickets/{ticket_id}/{action}",
                          data={"csrf_token": token, **data}, follow_redirects=False)
        assert r.status_code == 303, (action, r.text[:300])
    page = b.get(f"/admin/tickets/{ticket_id}")
    assert "Checked the sandbox" in page.text and 'data-kind="note"' in page.text
    assert 'data-state="waiting"' in page.text and b.email in page.text  # type: ignore[attr-defined]
    with db.unit(readonly=True) as uow:
        ticket = support.get_ticket(uow, ticket_id)
        assert ticket.first_response_at is not None and ticket.assignee_id is not None
    empty = b.client.post(f"/admin/tickets/{ticket_id}/reply",
                          data={"csrf_token": token, "body": " "})
    assert empty.status_code == 422
    assert b.client.post(f"/admin/tickets/{ticket_id}/close", data={"csrf_token": token},
                         follow_redirects=False).status_code == 303
    assert f'data-ticket="{ticket_id}"' not in b.get("/admin/tickets").text
    assert f'data-ticket="{ticket_id}"' in b.get("/admin/tickets?state=closed").text
    closed = b.client.post(f"/admin/tickets/{ticket_id}/reply",
                           data={"csrf_token": token, "body": "late"})
    assert closed.status_code == 409
    assert b.client.post(f"/admin/tickets/{ticket_id}/reopen", data={"csrf_token": token},
                         follow_redirects=False).status_code == 303
    report = b.get("/admin/tickets/report")
    assert report.status_code == 200 and re.search(r'data-week="\d{4}-W\d\d"', report.text)
    assert "12 min" in report.text  # the first answer came 12 minutes after opening


def test_filters_and_roles(db: Database, clock: FrozenClock, staff: StaffBrowser) -> None:
    ticket_id, _ = _late_ticket(db, clock)
    clock.advance(hours=2)
    admin = staff("admin")
    assert f'data-ticket="{ticket_id}"' in admin.get("/admin/tickets?age=1h").text
    assert 'id="no-tickets"' in admin.get("/admin/tickets?age=1d").text
    assert 'id="no-tickets"' in admin.get("/admin/tickets?assignee=me").text
    assert f'data-ticket="{ticket_id}"' in admin.get("/admin/tickets?assignee=none").text
    assert admin.get("/admin/tickets?state=nonsense").status_code == 200
    finance = staff("finance")
    assert finance.get("/admin/tickets").status_code == 403
    assert finance.get(f"/admin/tickets/{ticket_id}").status_code == 403
    assert 'href="/admin/tickets"' not in finance.get("/admin").text
    zh = staff("support", lang="zh-CN")
    assert zh.get("/admin/tickets").status_code == 200
