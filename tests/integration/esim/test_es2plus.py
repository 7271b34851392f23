"""ES2+ against a loopback SM-DP+ (smdp_peer.py): the exact requests topup sends, the
answers it accepts, and the refusals it reports with SGP.22's subject and reason codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.esim.smdp_peer import SmdpPeer, make_pki, serve
from topup.errors import InvalidInput
from topup.esim.errors import SmdpRefused, SmdpUnavailable
from topup.esim.es2plus import Es2PlusClient

JP1, JP2 = "8981100000000000017", "89811000000000000250"


@pytest.fixture
def smdp() -> Iterator[tuple[SmdpPeer, Es2PlusClient]]:
    peer = SmdpPeer()
    peer.add(JP1)
    peer.add(JP2)
    server = serve(peer)
    client = Es2PlusClient(f"http://127.0.0.1:{server.server_address[1]}", "operator.example",
                           "smdp.configured.example")
    try:
        yield peer, client
    finally:
        client.close()
        server.shutdown()
        server.server_close()


def test_an_order_is_made_confirmed_and_answers_an_activation_code(
        smdp: tuple[SmdpPeer, Es2PlusClient]) -> None:
    peer, client = smdp
    assert client.download_order(profile_type="travel-jp") == JP1
    done = client.confirm_order(JP1, matching_id="TOPUP-0001")
    assert (done.iccid, done.matching_id, done.smdp_address, done.eid) == (
        JP1, "TOPUP-0001", "smdp.test.example", None)
    assert done.activation_code == "LPA:1$smdp.test.example$TOPUP-0001"
    assert peer.profiles[JP1].state == "Released"
    first, second = peer.seen
    assert first.path == "/gsma/rsp2/es2plus/downloadOrder"
    assert first.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert first.headers["X-Admin-Protocol"] == "gsma/rsp/v2.2.0"
    header = first.body.pop("header")
    assert header["functionRequesterIdentifier"] == "operator.example"
    assert first.body == {"profileType": "travel-jp"}
    assert second.path == "/gsma/rsp2/es2plus/confirmOrder"
    assert second.body["header"]["functionCallIdentifier"] != header["functionCallIdentifier"]
    assert {k: v for k, v in second.body.items() if k != "header"} == {
        "iccid": JP1, "matchingId": "TOPUP-0001", "releaseFlag": True}


def test_a_held_order_is_released_later_and_a_cancelled_one_is_free_again(
        smdp: tuple[SmdpPeer, Es2PlusClient]) -> None:
    peer, client = smdp
    assert client.download_order(iccid=JP1 + "F") == JP1  # the padding F is not sent
    held = client.confirm_order(JP1, release=False)
    assert peer.profiles[JP1].state == "Confirmed" and held.matching_id
    client.release_profile(JP1)
    assert peer.profiles[JP1].state == "Released"
    assert peer.seen[0].body["iccid"] == JP1 and peer.seen[-1].body["iccid"] == JP1
    client.cancel_order(JP1, matching_id=held.matching_id)
    assert peer.profiles[JP1].state == "Available"
    assert peer.seen[-1].body["finalProfileStatusIndicator"] == "Available"
    client.download_order(iccid=JP1)
    client.cancel_order(JP1, available=False)
    assert peer.profiles[JP1].state == "Unavailable"


def test_refusals_carry_sgp22_subject_and_reason_codes(
        smdp: tuple[SmdpPeer, Es2PlusClient]) -> None:
    peer, client = smdp
    with pytest.raises(SmdpRefused) as unknown:
        client.download_order(iccid="8981100000000009999")
    assert (unknown.value.execution_status, unknown.value.subject_code,
            unknown.value.reason_code) == ("Failed", "8.2.1", "3.9")
    assert str(unknown.value) == ("downloadOrder: Failed (subject 8.2.1, reason 3.9): "
                                  "Profile ICCID unknown")
    client.download_order(iccid=JP1)
    client.download_order(iccid=JP2)
    with pytest.raises(SmdpRefused) as none_left:
        client.download_order(profile_type="travel-jp")
    assert (none_left.value.subject_code, none_left.value.reason_code) == ("8.2.5", "3.7")
    client.confirm_order(JP1, matching_id="SAME")
    with pytest.raises(SmdpRefused) as taken:
        client.confirm_order(JP2, matching_id="SAME")
    assert (taken.value.subject_code, taken.value.reason_code,
            taken.value.subject_identifier) == ("8.2.6", "3.3", "SAME")
    peer.next_status = "Expired"
    with pytest.raises(SmdpRefused) as late:
        client.confirm_order(JP2)
    assert late.value.execution_status == "Expired" and late.value.reason_code == "6.4"
    assert late.value.code == "smdp_refused" and late.value.status == 502


def test_what_is_not_es2plus_is_unavailable_and_bad_input_never_leaves(
        smdp: tuple[SmdpPeer, Es2PlusClient]) -> None:
    peer, client = smdp
    peer.next_http = 500
    with pytest.raises(SmdpUnavailable, match="HTTP 500"):
        client.download_order(iccid=JP1)
    gone = Es2PlusClient("http://127.0.0.1:9", "operator.example", "smdp.example", timeout=2)
    with pytest.raises(SmdpUnavailable, match="could not be reached"):
        gone.download_order(iccid=JP1)
    gone.close()
    sent = len(peer.seen)
    for bad in ("12345", "898110000000000001X", "8981100000000000017FF"):
        with pytest.raises(InvalidInput):
            client.download_order(iccid=bad)
    with pytest.raises(InvalidInput):
        client.download_order()
    assert len(peer.seen) == sent


def test_mutual_tls_with_the_operators_certificate(tmp_path: Path) -> None:
    """Over HTTPS the SM-DP+ asks for the operator's client certificate: with it (and the
    SM-DP+'s CA) the order goes through; without it, or trusting another CA, it does not."""
    pki = make_pki(tmp_path)
    peer = SmdpPeer()
    peer.add(JP1)
    server = serve(peer, tls=pki)
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        good = Es2PlusClient(url, "operator.example", "smdp.example",
                             client_cert=(pki.client_cert, pki.client_key), ca=pki.ca)
        assert good.download_order(iccid=JP1) == JP1
        good.close()
        anonymous = Es2PlusClient(url, "operator.example", "smdp.example", ca=pki.ca)
        with pytest.raises(SmdpUnavailable):
            anonymous.cancel_order(JP1)
        anonymous.close()
        (tmp_path / "other").mkdir()
        other = make_pki(tmp_path / "other")
        doubting = Es2PlusClient(url, "operator.example", "smdp.example",
                                 client_cert=(pki.client_cert, pki.client_key), ca=other.ca)
        with pytest.raises(SmdpUnavailable):
            doubting.cancel_order(JP1)
        doubting.close()
        assert peer.profiles[JP1].state == "Allocated"  # neither reached it
    finally:
        server.shutdown()
        server.server_close()
