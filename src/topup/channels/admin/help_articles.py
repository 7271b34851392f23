"""The help centre in the console (admin and support: ``help.write``): every article with its
state in each language, and per article and language a form to edit its title and Markdown
body with a preview rendered here (no script), publish or unpublish it, or go back to the text
the package ships. Every change is audited by the help area."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from topup.audit.service import entries
from topup.channels.admin.pages import page
from topup.channels.portal.help_centre import TOPICS, facts, html_of
from topup.channels.portal.web import Form, PortalRoute, Web, allowed, posted
from topup.errors import TopupError
from topup.help import service as help_centre
from topup.help.errors import ArticleNotFound
from topup.help.render import PLACEHOLDER
from topup.help.shipped import shipped
from topup.help.tables import LANGS
from topup.subscribers import auth

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
EDIT = allowed("help.write")
LANG_NAMES = {"en": "English", "zh-CN": "中文"}


@router.get("/admin/help")
def help_list(w: Web = Depends(EDIT)) -> Response:
    """Every article, with its title and state (shipped, edited, hidden) in each language."""
    with w.db.unit(readonly=True) as uow:
        by_lang = {lang: {a.slug: a for a in help_centre.articles(uow, lang, staff=True)}
                   for lang in LANGS}
    slugs = list(dict.fromkeys(s for lang in LANGS for s in by_lang[lang]))
    return page(w, "admin/help.html", "help", slugs=slugs, by_lang=by_lang, langs=LANGS,
                lang_names=LANG_NAMES, topics=TOPICS)


def _edit_page(w: Web, slug: str, lang: str, form: Form | None = None,
               preview: bool = False, status: int = 200) -> Response:
    with w.db.unit(readonly=True) as uow:
        found = help_centre.article(uow, slug, lang, staff=True)
        audit = entries(uow, f"help:{slug}:{lang}", limit=50)
        actors = auth.login_names(uow, [a["actor_id"] for a in audit if a["actor_id"]])
    form = form or Form({"title": found.title, "body": found.body})
    shown = html_of(form.values.get("body", ""), facts(w, lang)) if preview else None
    return page(w, "admin/help_edit.html", "help", status=status, article=found, form=form,
                preview=shown, audit=audit, actors=actors, lang_name=LANG_NAMES[lang],
                shipped=slug in shipped(lang), topic=TOPICS.get(found.topic, found.topic),
                placeholders=sorted(facts(w, lang)), unknown=_unknown(form, w, lang))


def _unknown(form: Form, w: Web, lang: str) -> list[str]:
    """Placeholders in the body that nothing fills (misspelt): shown as typed, so warn."""
    known = facts(w, lang)
    return sorted({m for m in PLACEHOLDER.findall(form.values.get("body", "")) if m not in known})


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ArticleNotFound(f"the help centre has no language {lang!r}")
    return lang


@router.get("/admin/help/{slug}/{lang}")
def help_edit(slug: str, lang: str, w: Web = Depends(EDIT)) -> Response:
    """The article in ``lang`` as a form, with its audit history."""
    return _edit_page(w, slug, _lang(lang))


@router.post("/admin/help/{slug}/{lang}")
def help_save(slug: str, lang: str, form: Form = Depends(posted), w: Web = Depends(EDIT)
              ) -> Response:
    """``action=preview``: the form again with the body rendered as readers will see it
    (nothing saved); otherwise save the title and body."""
    _lang(lang)
    if form.get("action") == "preview":
        return _edit_page(w, slug, lang, form, preview=True)
    try:
        w.db.transact(lambda uow: help_centre.save(uow, w.me().id, slug, lang,
                                                   form.raw("title"), form.raw("body")),
                      what="help article")
    except TopupError as exc:
        form.refuse(w.t, exc, "body")
        return _edit_page(w, slug, lang, form, status=exc.status)
    return w.redirect(f"/admin/help/{slug}/{lang}", notice="help_saved")


CHANGES: dict[str, tuple[Any, str]] = {
    "publish": (lambda uow, me, slug, lang: help_centre.set_published(uow, me, slug, lang, True),
                "help_published"),
    "unpublish": (lambda uow, me, slug, lang: help_centre.set_published(
        uow, me, slug, lang, False), "help_unpublished"),
    "revert": (help_centre.revert, "help_reverted"),
}


@router.post("/admin/help/{slug}/{lang}/{change}")
def help_change(slug: str, lang: str, change: str, form: Form = Depends(posted),
                w: Web = Depends(EDIT)) -> Response:
    """Publish, unpublish, or revert to the shipped text (``change``)."""
    if change not in CHANGES:
        raise ArticleNotFound(f"no such change {change!r}")
    act, notice = CHANGES[change]
    lang = _lang(lang)
    w.db.transact(lambda uow: act(uow, w.me().id, slug, lang), what=notice)
    return w.redirect(f"/admin/help/{slug}/{lang}", notice=notice)
