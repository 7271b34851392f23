"""Where ``topup serve`` points payment links when TOPUP_PUBLIC_URL is not set."""

from __future__ import annotations

from topup.cli.main import public_url_for


def test_links_follow_the_host_and_port_served() -> None:
    assert public_url_for("127.0.0.1", 8123) == "http://127.0.0.1:8123"
    assert public_url_for("shop.example", 9000) == "http://shop.example:9000"
    assert public_url_for("0.0.0.0", 8080) == "http://127.0.0.1:8080"  # noqa: S104
    assert public_url_for("::1", 8080) == "http://[::1]:8080"
