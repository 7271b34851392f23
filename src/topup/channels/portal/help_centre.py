"""The help centre, open to everyone: ``/help`` (the topics, a search box and the hotline),
``/help?q=…`` (articles holding every word, in the page's language) and ``/help/<slug>``.

Articles come from the help area (shipped text unless staff edited it). Their ``{{name}}``
placeholders are filled here with what the operator configured (``facts``): the hotline and
its hours, the accepted currencies, the payment methods, so an article never names a brand or
a currency the operator does not offer.
"""

from __future__ import annotations

from dataclasses import replace

from babel.numbers import get_currency_name
from fastapi import APIRouter, Depends, Query, Response
from markupsafe import Markup

from topup.channels.portal.i18n import N_, Translator, translator
from topup.channels.portal.payment import PORTAL_PROVIDERS, method_label
from topup.channels.portal.web import PortalRoute, Web, web
from topup.help import service as help_centre
from topup.help.render import fill, to_html
from topup.help.tables import LANGS

router = APIRouter(route_class=PortalRoute)
TOPICS = {"topping-up": N_("Topping up"), "paying": N_("Paying"), "esim": N_("eSIM"),
          "plans": N_("Plans and auto-renew"), "safety": N_("Staying safe")}


def hours(w: Web, lang: str | None = None) -> str:
    """When the hotline answers, in ``lang`` (the page's) where the operator wrote it."""
    settings = w.db.settings
    chinese = (lang or w.t.lang) == "zh-CN"
    return (settings.hotline_hours_zh if chinese else "") or settings.hotline_hours


def contact(w: Web, t: Translator) -> str:
    """One sentence in ``t``'s language saying how to reach the operator's people."""
    number, when = w.db.settings.hotline_number, hours(w, t.lang)
    if number and when:
        return t.gettext("Call our hotline %(number)s (%(hours)s).", number=number, hours=when)
    if number:
        return t.gettext("Call our hotline %(number)s.", number=number)
    return t.gettext("Contact customer service.")


def facts(w: Web, lang: str | None = None) -> dict[str, str]:
    """What article placeholders stand for in ``lang`` (default: the page's), from the
    operator's settings and payment providers."""
    t = translator(lang) if lang else w.t
    currencies = "\n".join(f"- {code} ({get_currency_name(code, locale=t.locale)})"
                           for code in w.db.settings.currencies)
    providers = w.request.app.state.payment_providers
    methods = [method_label(t.lang, n) for n in PORTAL_PROVIDERS if n in providers]
    return {"operator": w.db.settings.operator_name, "hotline": w.db.settings.hotline_number,
            "hours": hours(w, t.lang), "contact": contact(w, t), "currencies": currencies,
            "payment_methods": ", ".join(methods) or t.gettext("none yet")}


def html_of(body: str, values: dict[str, str]) -> Markup:
    """An article body as safe HTML (markdown-it escapes any HTML it holds)."""
    return Markup(to_html(fill(body, values)))  # noqa: S704 (escaped by the renderer)


def in_language(w: Web, lang: str) -> tuple[Web, str]:
    """The page in ``lang`` when it is one of ours (``?lang=zh-CN``: a link that shows an
    article in one language whatever the reader's own), and the query that keeps it."""
    if lang not in LANGS:
        return w, ""
    return replace(w, t=translator(lang)), f"?lang={lang}"


@router.get("/help")
def help_index(q: str = Query("", max_length=100), lang: str = Query("", max_length=5),
               w: Web = Depends(web)) -> Response:
    """The topics with their articles, the hotline, and with ``q`` the articles that match."""
    w, keep = in_language(w, lang)
    values = facts(w)
    typed = q.strip()
    with w.db.unit(readonly=True) as uow:
        listed = help_centre.articles(uow, w.t.lang)
        hits = (help_centre.search(uow, w.t.lang, typed, lambda body: fill(body, values))
                if typed else None)
    topics = [(key, label, [a for a in listed if a.topic == key]) for key, label in TOPICS.items()]
    return w.page("help.html", topics=[t for t in topics if t[2]], q=typed, hits=hits,
                  hotline=w.db.settings.hotline_number, hours=hours(w), keep=keep)


@router.get("/help/{slug}")
def help_article(slug: str, lang: str = Query("", max_length=5), w: Web = Depends(web)
                 ) -> Response:
    """One article in the page's language (or ``lang``), with the others of its topic."""
    w, keep = in_language(w, lang)
    with w.db.unit(readonly=True) as uow:
        found = help_centre.article(uow, slug, w.t.lang)
        related = [a for a in help_centre.articles(uow, w.t.lang)
                   if a.topic == found.topic and a.slug != slug]
    return w.page("help_article.html", article=found, body=html_of(found.body, facts(w)),
                  topic=TOPICS.get(found.topic, found.topic), related=related,
                  hotline=w.db.settings.hotline_number, hours=hours(w), keep=keep)
