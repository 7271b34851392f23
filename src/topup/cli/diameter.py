"""``topup diameter``: the Diameter Gy server (online charging) a packet gateway or a Diameter
relay connects to; see channels/gy/server.py and docs/charging.md."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time

import typer

from topup import bootstrap
from topup.cli.common import fail
from topup.db.migrate import upgrade
from topup.db.remote import Supervised

DEFAULT_PORT = 3868


class GyProcess(Supervised):
    """``topup diameter`` as a child of ``topup serve``, when ``TOPUP_DIAMETER_IDENTITY`` is
    set: listening on ``TOPUP_DIAMETER_HOST`` (127.0.0.1) and ``TOPUP_DIAMETER_PORT``
    (3868), with the identity, realm and peers of the environment."""

    NAME = "Diameter Gy server"

    def __init__(self, env: dict[str, str]) -> None:
        self.host = env.get("TOPUP_DIAMETER_HOST", "").strip() or "127.0.0.1"
        self.port = int(env.get("TOPUP_DIAMETER_PORT", "").strip() or DEFAULT_PORT)
        super().__init__([sys.executable, "-m", "topup.cli.main", "diameter", "--host",
                          self.host, "--port", str(self.port), "--no-migrate"], env)

    @classmethod
    def configured(cls, env: dict[str, str] | None = None) -> bool:
        return bool((env if env is not None else os.environ).get(
            "TOPUP_DIAMETER_IDENTITY", "").strip())

    def ready(self) -> bool:
        probe = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104
        with socket.socket() as s:
            return s.connect_ex((probe, self.port)) == 0


def diameter(host: str = typer.Option("127.0.0.1", help="Address to listen on"),
             port: int = typer.Option(3868, help="TCP port to listen on (Diameter's is 3868)"),
             identity: str = typer.Option(..., envvar="TOPUP_DIAMETER_IDENTITY",
                                          help="This server's Origin-Host, e.g. ocs.example"),
             realm: str = typer.Option(..., envvar="TOPUP_DIAMETER_REALM",
                                       help="This server's Origin-Realm, e.g. example"),
             peer: list[str] = typer.Option(
                 ..., envvar="TOPUP_DIAMETER_PEERS",
                 help="A gateway or relay allowed to connect, as identity@realm, or "
                      "identity@realm/address to allow that address only (repeat it)"),
             gateway_realm: list[str] = typer.Option(
                 [], envvar="TOPUP_DIAMETER_GATEWAY_REALMS",
                 help="A realm of gateways behind a relay peer, for re-authorization requests "
                      "(repeat it)"),
             migrate: bool = typer.Option(True, help="Upgrade the schema before serving")
             ) -> None:
    """Serve Diameter Gy credit control until SIGTERM or Ctrl-C."""
    from topup.channels.gy.server import GyServer, Peer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        peers = [Peer.parse(p) for item in peer for p in item.split(",") if p.strip()]
    except ValueError as exc:
        raise fail(str(exc)) from None
    db = bootstrap.database()
    try:
        if migrate:
            upgrade(db.engine)
        server = GyServer(db, identity=identity, realm=realm, host=host, port=port,
                          peers=peers, gateway_realms=[
                              r.strip().lower() for item in gateway_realm
                              for r in item.split(",") if r.strip()])
        try:
            server.start()
        except OSError as exc:
            raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        # the Diameter stack's threads, the answers' and the writer's hand the interpreter to
        # each other many times a request: sooner than the default 5 ms (bootstrap)
        bootstrap.tune_process()
        typer.echo(f"Diameter Gy listening on {host}:{port} as {identity} ({realm}); peers: "
                   + ", ".join(f"{p.identity}@{p.realm}" for p in peers))
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        server.stop()
        typer.echo("Diameter Gy stopped")
    finally:
        db.dispose()


def diameter_probe(
        peer: str = typer.Option(..., help="The Gy server, or a relay in front of it, as "
                                           "identity@realm"),
        connect: str = typer.Option("127.0.0.1:3868", help="Its address, host:port"),
        identity: str = typer.Option(..., help="This probe's Origin-Host: the server must "
                                               "allow it as a peer"),
        realm: str = typer.Option(..., help="This probe's Origin-Realm"),
        imsi: str = typer.Option("", help="The IMSI of a line to ask for"),
        msisdn: str = typer.Option("", help="Or its MSISDN"),
        destination_realm: str = typer.Option("", help="The server's realm, when --peer is a "
                                                       "relay"),
        mcc_mnc: str = typer.Option("", help="The serving network (3GPP-SGSN-MCC-MNC), e.g. "
                                             "52001; the line's home country without it"),
        seconds: float = typer.Option(10, help="How long to wait for the peer and each answer"),
) -> None:
    """Check a Gy server from where a gateway stands: open a session for a line asking the
    default data quota (CCR-I, rating group 1), then close it having used nothing (CCR-T).
    Prints both answers; exits 1 unless both are 2001 (nothing is charged either way)."""
    from diameter.message.avp.grouped import RequestedServiceUnit
    from diameter.node.application import ApplicationError

    from topup.channels.gy.gateway import Gateway, Refused
    from topup.channels.gy.server import Peer

    try:
        to = Peer.parse(peer)
        host, _, port = connect.rpartition(":")
        address = (host.strip("[]") or "127.0.0.1", int(port))
    except ValueError as exc:
        raise fail(f"--peer is identity@realm and --connect host:port ({exc})") from None
    if not imsi and not msisdn:
        raise fail("name the line with --imsi or --msisdn")
    try:
        gateway = Gateway(identity=identity, realm=realm, peer=to.identity,
                          peer_realm=to.realm, host=address[0], port=address[1],
                          destination_realm=destination_realm or None, ready_seconds=seconds)
    except Refused as exc:
        raise fail(f"no Diameter connection to {to.identity} at {connect}: it refused this "
                   f"probe with Result-Code {exc.result_code} (is this probe one of its "
                   f"peers?)") from None
    except ApplicationError:
        raise fail(f"no Diameter connection to {to.identity} at {connect} within "
                   f"{seconds:g} s (is this probe one of its peers?)") from None
    session = f"{identity};probe;{os.getpid()};{int(time.time())}"
    ok = True
    try:
        for kind, number, label in (("I", 0, "CCR-I"), ("T", 1, "CCR-T")):
            mscc: dict[str, object] = {"rating_group": 1}
            if kind == "I":
                mscc["requested_service_unit"] = RequestedServiceUnit()
            try:
                cca = gateway.ccr(session, kind, number, [mscc], imsi=imsi or None,
                                  msisdn=msisdn or None, mcc_mnc=mcc_mnc or None,
                                  timeout=seconds)
            except TimeoutError:
                raise fail(f"{label}: no answer within {seconds:g} s") from None
            typer.echo(f"{label}: {cca.result_code}{_granted(cca)}")
            ok = ok and cca.result_code == 2001
            if cca.result_code != 2001:
                break  # no session to close
    finally:
        gateway.stop()
    if not ok:
        raise typer.Exit(1)


def _granted(cca: object) -> str:
    parts = []
    for m in getattr(cca, "multiple_services_credit_control", None) or []:
        gsu = m.granted_service_unit
        got = gsu.cc_total_octets if gsu is not None else None
        parts.append(f"rating group {m.rating_group}: {m.result_code}"
                     + (f", {got} octets for {m.validity_time} s" if got else ""))
    return f" ({'; '.join(parts)})" if parts else ""
