"""The line page's auto top-up form: set the rule (amounts typed in major units, as shown)
and switch it on, or switch it off. A refusal shows the line page again with the form as
typed and the reason next to its field."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from topup.channels.api.bounds import DbId
from topup.channels.portal.lines import dashboard_page
from topup.channels.portal.messages import error_text
from topup.channels.portal.views import owned_line
from topup.channels.portal.web import Form, PortalRoute, Web, posted, signed_in
from topup.errors import TopupError
from topup.money import Money
from topup.orders import autotopup
from topup.orders.autotopup import Rule
from topup.subscribers.lines import Line

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

# the service's field names -> the form's
FIELDS = {"threshold": "threshold", "amount": "amount", "payment_method_id": "method",
          "max_per_day": "max_per_day", "max_amount_per_day": "max_amount_per_day"}


def _money(w: Web, form: Form, name: str, currency: str, *, optional: bool = False
           ) -> int | None:
    text = form.get(name)
    if not text:
        if not optional:
            form.fail(name, w.t.gettext("Enter an amount."))
        return None
    try:
        return Money.parse(text, currency).amount
    except TopupError:
        form.fail(name, w.t.gettext("Enter an amount such as %(example)s.",
                                    example=Money(10000, currency).text()))
        return None


def _count(w: Web, form: Form, most: int) -> int | None:
    text = form.get("max_per_day")
    if not text.isdigit() or not 1 <= int(text) <= most:
        form.fail("max_per_day", w.t.gettext("Choose from 1 to %(most)s top-ups a day.",
                                             most=most))
        return None
    return int(text)


def _rule(w: Web, line: Line, form: Form, most: int) -> Rule | None:
    threshold = _money(w, form, "threshold", line.currency)
    amount = _money(w, form, "amount", line.currency)
    daily = _money(w, form, "max_amount_per_day", line.currency, optional=True)
    count = _count(w, form, most)
    method = form.get("method")
    if not method.isdigit():
        form.fail("method", w.t.gettext("Choose one of your saved cards."))
    if not form.ok or threshold is None or amount is None or count is None:
        return None
    return Rule(threshold=threshold, amount=amount, method_id=int(method), max_per_day=count,
                max_amount_per_day=daily)


def _refusal(w: Web, form: Form, exc: TopupError, rule: Rule, currency: str) -> None:
    """Put a service's refusal next to its field, in words that say what to change."""
    found = exc.extra.get("field")
    name = FIELDS.get(found, "") if isinstance(found, str) else ""
    if exc.code != "invalid_auto_topup" or name not in form.values:
        form.fail(name if name in form.values else "", error_text(w.t, exc))
        return
    ceiling = exc.extra.get("max_amount_per_day")
    most = Money(ceiling, currency).format(w.t.locale) if isinstance(ceiling, int) else ""
    below = name == "max_amount_per_day" and (rule.max_amount_per_day or 0) < rule.amount
    texts = {
        "threshold": w.t.gettext("Enter a balance of 0 or more."),
        "method": w.t.gettext("Choose one of your saved cards."),
        "max_per_day": w.t.gettext("Choose from 1 to %(most)s top-ups a day.",
                                   most=exc.extra.get("max_per_day", 1)),
        "amount": w.t.gettext("Automatic top-ups may add at most %(max)s a day.", max=most),
        "max_amount_per_day": (
            w.t.gettext("The daily limit must be at least the top-up amount.") if below else
            w.t.gettext("Automatic top-ups may add at most %(max)s a day.", max=most)),
    }
    form.fail(name, texts[name])


@router.post("/lines/{line_id}/auto-topup")
def save(line_id: DbId, form: Form = Depends(posted), w: Web = Depends(signed_in)
         ) -> Response:
    """Set the line's auto top-up and switch it on."""
    user = w.me()
    usable = set(w.request.app.state.saved_methods) & set(w.request.app.state.payment_providers)
    with w.db.unit(readonly=True) as uow:
        line = owned_line(uow, user, line_id)
        most = autotopup.count_ceiling(uow)
    rule = _rule(w, line, form, most)
    if rule is not None:
        try:
            w.db.transact(lambda uow: autotopup.save_auto_topup(
                uow, owned_line(uow, user, line_id), rule, usable_providers=usable),
                what="auto top-up")
        except TopupError as exc:
            _refusal(w, form, exc, rule, line.currency)
    if rule is None or not form.ok:
        return dashboard_page(w, line_id, status=422, auto_form=form)
    return w.redirect(f"/lines/{line_id}", notice="auto_topup_on")


@router.post("/lines/{line_id}/auto-topup/off")
def switch_off(line_id: DbId, form: Form = Depends(posted), w: Web = Depends(signed_in)
               ) -> Response:
    """Switch the line's auto top-up off (the rule is kept for the form)."""
    w.db.transact(lambda uow: autotopup.switch_off(uow, owned_line(uow, w.me(), line_id).id),
                  what="auto top-up")
    return w.redirect(f"/lines/{line_id}", notice="auto_topup_off")
