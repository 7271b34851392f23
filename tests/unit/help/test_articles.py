"""The shipped articles and their rendering: every article in both languages with the same
topic, links and placeholders; Markdown rendered with HTML, images and script links off;
placeholders filled, misspelt ones left as typed; plain text for excerpts."""

from __future__ import annotations

import re

import pytest

from topup.help.render import PLACEHOLDER, fill, plain, to_html
from topup.help.shipped import TOPICS, parse, shipped

LINK = re.compile(r"\]\((/[^)]*)\)")


def test_every_article_ships_in_both_languages_alike() -> None:
    en, zh = shipped("en"), shipped("zh-CN")
    assert list(en) == list(zh) and len(en) >= 9
    for slug, article in en.items():
        other = zh[slug]
        assert (article.topic, article.order) == (other.topic, other.order), slug
        assert LINK.findall(article.body) == LINK.findall(other.body), slug
        assert set(PLACEHOLDER.findall(article.body)) == set(PLACEHOLDER.findall(other.body))
        assert article.topic in TOPICS
    linked = {link for a in en.values() for link in LINK.findall(a.body)}
    assert {f"/help/{slug}" for slug in en} >= {x for x in linked if x.startswith("/help/")}
    assert "/check" in linked  # the scam articles send readers to the card check


def test_the_articles_say_what_the_issue_asks() -> None:
    en = shipped("en")
    assert "Wait up to 30 minutes" in en["money-late"].body
    assert "receipt" in en["money-late"].body
    for method in ("PayPal", "Alipay", "WeChat Pay", "Bank transfer", "Card"):
        assert method in en["pay"].body, method
    assert "{{currencies}}" in en["currencies"].body  # not a hard-coded list
    assert "iPhone" in en["install-esim"].body and "Android" in en["install-esim"].body
    assert "Never share a voucher's PIN" in en["spot-a-scam"].body


def test_a_malformed_file_is_refused() -> None:
    with pytest.raises(ValueError):
        parse("x", "en", "title: no separator\n")
    with pytest.raises(ValueError):
        parse("x", "en", "topic: gossip\ntitle: T\n---\nbody")
    with pytest.raises(ValueError):
        parse("Bad Slug", "en", "topic: safety\ntitle: T\n---\nbody")


def test_html_in_markdown_is_text() -> None:
    html = to_html('<script>alert(1)</script>\n\n<a href="x" onclick="y">a</a> **b**')
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<a href" not in html and "<strong>b</strong>" in html


def test_script_links_and_images_are_off() -> None:
    html = to_html("[a](javascript:alert(1)) [b](data:text/html,x) ![c](http://e.example/c.png)"
                   " [d](/help/pay)")
    assert 'href="javascript:' not in html
    assert 'href="data:' not in html and "<img" not in html
    assert '<a href="/help/pay">d</a>' in html


def test_placeholders_and_plain_text() -> None:
    assert fill("Call {{hotline}} {{ hours }} {{nope}}", {"hotline": "123", "hours": "9-5"}) == (
        "Call 123 9-5 {{nope}}")
    assert plain("## Title\n\n**Bold** and [a link](/help/pay).\n\n- item") == (
        "Title Bold and a link. - item")
