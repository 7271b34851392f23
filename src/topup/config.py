"""Settings, read once from the environment (``TOPUP_*``).

Secrets never live in the repository: ``TOPUP_SECRET_KEY`` comes from the environment, or is
generated once into ``<data dir>/secret.key`` (mode 0600) for the embedded mode.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _pipeline(value: str) -> str:
    """``TOPUP_WRITER_PIPELINE``: ``off`` (0, false, no), ``process``, else ``thread``."""
    value = value.strip().lower()
    if value in ("0", "false", "no", "off"):
        return "off"
    return "process" if value == "process" else "thread"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def database_pooler() -> str:
    """``TOPUP_DATABASE_POOLER``: ``transaction`` when PostgreSQL is reached through a pooler
    in transaction mode (PgBouncer's ``pool_mode = transaction``), where consecutive
    transactions of one connection may run on different server connections; empty (or
    ``none``, or ``session``, a pooler that gives each client a server connection of its own)
    for a direct connection. docs/pgbouncer.md says what changes."""
    raw = os.environ.get("TOPUP_DATABASE_POOLER", "").strip().lower()
    if raw in ("", "none", "session"):
        return ""
    if raw == "transaction":
        return raw
    raise ValueError(f"TOPUP_DATABASE_POOLER is transaction or none, not {raw!r}"
                     " (statement pooling cannot run transactions of several statements)")


LOW_BALANCE = {"CNY": 10_00, "USD": 2_00, "EUR": 2_00, "GBP": 2_00, "HKD": 15_00,
               "THB": 50_00, "JPY": 300, "SGD": 3_00}

# Largest single top-up (minor units) per currency where no topup_limits row covers the line's
# zone; other currencies get TOPUP_MAX_MAJOR major units (see catalog/pricing.py).
TOPUP_MAX = {"CNY": 10_000_00, "USD": 1_500_00, "EUR": 1_500_00, "GBP": 1_200_00,
             "HKD": 12_000_00, "THB": 50_000_00, "JPY": 200_000, "SGD": 2_000_00}
TOPUP_MAX_MAJOR = 1_000


@dataclass(frozen=True)
class Settings:
    """Everything that an operator may configure; one instance per process."""

    data_dir: Path
    database_url: str
    secret_key: str
    # How PostgreSQL is reached (``TOPUP_DATABASE_POOLER``, see ``database_pooler``):
    # "transaction" behind a pooler in transaction mode (PgBouncer), else "" (directly).
    database_pooler: str = ""
    operator_name: str = "topup"
    # The installable portal (channels/portal/pwa.py): the colour of the app's title bar and
    # splash screen (#rrggbb), the number travellers call for help (shown on the offline page;
    # empty hides it), and a folder of the operator's own app icons (empty: generated ones).
    theme_color: str = "#0b57d0"
    hotline_number: str = ""
    # When the hotline answers, as the operator writes it ("Every day 8:00-22:00 (UTC+8)"),
    # shown in the help centre; the Chinese pages use hotline_hours_zh when it is set.
    hotline_hours: str = ""
    hotline_hours_zh: str = ""
    app_icons: str = ""
    default_currency: str = "CNY"
    token_ttl_seconds: int = 7 * 24 * 3600
    # Portal sign-ins: a web session ends after this long without a request (idle) and this
    # long after the sign-in whatever happens (absolute).
    web_session_idle_seconds: int = 3600
    web_session_max_seconds: int = 24 * 3600
    duplicate_topup_window_seconds: int = 300
    topup_validity_days: int = 180
    # ``topup db archive`` keeps at least this many months before the current one online.
    archive_retention_months: int = 12
    # PostgreSQL: ledger transfers and orders are range-partitioned on ``id`` in partitions of
    # this many ids each (docs/partitioning.md); ``topup db partitions`` makes them ahead.
    partition_id_span: int = 10_000_000
    # Login failures per (address, account) pair before the back-off, and its longest wait.
    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    # A password-reset code lives this long and takes at most this many wrong tries.
    reset_code_ttl_seconds: int = 600
    reset_code_max_attempts: int = 5
    # Wrong card secrets per account before binding backs off.
    bind_max_failures: int = 10
    pending_transfer_timeout_seconds: int = 900
    ledger_shards: int = 16
    # The writer commits at most this many value-moving commands in one transaction.
    writer_max_batch: int = 256
    # The writer process's socket (set by ``topup serve`` for its workers, db/remote.py);
    # empty: each process writes with a writer thread of its own.
    writer_socket: str = ""
    # SQLite: a batch's rows decided while the one before is written (db/pipeline.py) by a
    # thread ("thread") or a process ("process") of its own; "off" (TOPUP_WRITER_PIPELINE=0)
    # keeps one thread doing both, one batch after the other.
    writer_pipeline: str = "thread"
    # Reports, the console's dashboard and exports read from this streaming replica of the
    # PostgreSQL database (docs/replica.md) while it is at most replica_max_lag_seconds behind;
    # after it failed to answer, the primary serves them for replica_retry_seconds. Empty: the
    # primary serves everything.
    replica_url: str = ""
    replica_max_lag_seconds: float = 30.0
    replica_retry_seconds: float = 30.0
    # A write transaction PostgreSQL aborts with a serialization failure or a deadlock is run
    # again: at most this many tries, none started later than this many seconds after the
    # first (db/retry.py); then 503 with Retry-After.
    retry_attempts: int = 5
    retry_seconds: float = 3.0
    # A bearer token checked once is trusted this long without reading the database again:
    # a logout or revocation on another server process takes effect within this bound.
    auth_cache_seconds: float = 5.0
    public_url: str = "http://127.0.0.1:8000"
    payment_providers: tuple[str, ...] = ("sandbox",)
    payment_ttl_minutes: int = 30
    late_payment_policy: str = "credit"  # or "refund": send money for a dead order back
    bank_payment_ttl_days: int = 14
    # Line lifecycle: days in grace before suspension, days suspended before termination.
    grace_days: int = 7
    suspended_days: int = 30
    # Auto-renew: how long before a plan ends it is bought again, at most how many renewals a
    # line gets in 24 hours, and the waits between failed attempts (then it is given up).
    renew_lead_minutes: int = 60
    # Run the worker loop (outbox and schedules) inside ``topup serve`` as well.
    embedded_worker: bool = True
    max_renewals_per_day: int = 3
    renewal_retry_minutes: tuple[int, ...] = (60, 240, 720)
    # Auto top-up (orders/autotopup.py): the most top-ups a line's rule may make in 24 hours,
    # and the most money per currency (unlisted: no ceiling but the count); each traveller
    # picks their own caps within these.
    auto_topup_max_per_day: int = 3
    auto_topup_max_amount_per_day: dict[str, int] = field(default_factory=lambda: dict(TOPUP_MAX))
    # Reminders: a wallet below this many minor units of its currency gets a low-balance note.
    low_balance: dict[str, int] = field(default_factory=lambda: dict(LOW_BALANCE))
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    # Countries whose rules require the buyer's ID for agent sales (see agents/kyc.py).
    kyc_countries: tuple[str, ...] = ()
    # Vouchers: failed PINs per line/session and per IP/terminal before a lockout of
    # voucher_lockout_seconds; public serial checks per IP in that window; how long a voucher
    # stays reserved while its redemption completes; where lockout alerts are e-mailed.
    voucher_max_failures: int = 5
    voucher_max_failures_shared: int = 20
    voucher_lockout_seconds: int = 900
    voucher_checks_per_ip: int = 30
    voucher_hold_seconds: int = 300
    alert_email: str = ""
    # eSIM store: alert (to alert_email) once a pool's available profiles fall to this many;
    # the token the SM-DP+ sends on its ES2+ callbacks (Authorization: Bearer …; empty
    # refuses every callback) and, when set, the functionRequesterIdentifier it must name.
    esim_low_stock: int = 20
    # promotions: cashback is credited this many days after its order was fulfilled, once
    # the order can no longer be refunded in the operator's terms (and was not)
    cashback_after_days: int = 7
    # loyalty points (promotions/points.py): one point per ``points_earn_per`` minor units
    # paid through a provider (0: no points), each worth ``points_worth`` minor units when
    # spent, on at most ``points_max_share_bp`` of an order; all of a traveller's points
    # expire ``points_expire_days`` after they last earned or spent any
    points_earn_per: int = 100
    points_worth: int = 1
    points_max_share_bp: int = 2000
    points_expire_days: int = 365
    referral_points: int = 500  # to each side of a referral (promotions/referrals.py)
    smdp_callback_token: str = ""
    smdp_identity: str = ""
    # ES2+ to the SM-DP+ (esim/ondemand.py): its ES2+ root, the operator's function requester
    # identifier, the SM-DP+ address of activation codes, mutual TLS files; and the pools
    # ("profile type:zone", comma-separated) it fills on demand when their stock is empty.
    smdp_url: str = ""
    smdp_requester: str = ""
    smdp_address: str = ""
    smdp_client_cert: str = ""
    smdp_client_key: str = ""
    smdp_ca: str = ""
    esim_on_demand: tuple[tuple[str, str], ...] = ()
    # Offline channels: the language of callers without an account (en or zh-CN); the shared
    # secret each operator-side gateway sends (X-Gateway-Token; empty refuses every call) and the
    # addresses it may call from (IPs or CIDR ranges; empty allows any).
    default_language: str = "en"
    ussd_gateway_token: str = ""
    ussd_gateway_ips: tuple[str, ...] = ()
    sms_gateway_token: str = ""
    sms_gateway_ips: tuple[str, ...] = ()
    # Notification delivery (docs/notifications.md): backends by name (smtp|console,
    # smpp|console), their servers, and the outbox worker's lease, batch, polling and retries.
    email_backend: str = "console"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_from: str = "topup@localhost"
    smtp_timeout_seconds: int = 30
    sms_backend: str = "console"
    smpp_host: str = "127.0.0.1"
    smpp_port: int = 2775
    smpp_system_id: str = ""
    smpp_password: str = ""
    smpp_system_type: str = ""
    smpp_source_addr: str = ""
    smpp_enquire_link_seconds: int = 30
    smpp_timeout_seconds: int = 10
    notify_lease_seconds: int = 120
    notify_batch_size: int = 20
    notify_max_attempts: int = 8
    notify_retry_base_seconds: int = 30
    notify_retry_max_seconds: int = 3600
    worker_poll_seconds: int = 2
    # /metrics: the bearer token a Prometheus scraper sends; empty serves loopback callers only.
    metrics_token: str = ""
    # Proxies whose X-Forwarded-For/-Proto headers `topup serve` believes (IPs or CIDR ranges,
    # or "*"); empty trusts none, so a client cannot spoof its address or scheme.
    trusted_proxies: tuple[str, ...] = ()
    currencies: tuple[str, ...] = field(
        default=("CNY", "USD", "EUR", "GBP", "HKD", "THB", "JPY", "SGD")
    )
    # Throttles (subscribers/throttle.py, docs/security.md): each key gets ``*_max_failures``
    # free failures per ``*_window_seconds``; then it waits ``*_backoff_seconds``, doubling with
    # every further failure up to ``*_backoff_max_seconds``. login_max_failures (above) counts
    # per (address, account) pair and login_lockout_seconds is the longest login back-off.
    # Login: failures per account from all addresses, and per address over all accounts (a
    # NAT shares one address, so its budget is large).
    login_account_max_failures: int = 20
    login_ip_max_failures: int = 100
    login_window_seconds: int = 3600
    login_backoff_seconds: int = 30
    # An address where the right password was given is "known" to that account this long: from
    # there the account-wide back-off does not apply (only the pair's and the address's), so
    # guesses from elsewhere cannot keep the owner out.
    login_known_seconds: int = 30 * 24 * 3600
    # Password reset: codes sent per account and per address in a window (extra requests are
    # answered alike but send nothing); wrong codes per account across all its codes and per
    # address, with their back-off.
    reset_requests_per_account: int = 3
    reset_requests_per_ip: int = 10
    reset_request_window_seconds: int = 3600
    reset_max_failures: int = 10
    reset_ip_max_failures: int = 30
    reset_window_seconds: int = 3600
    reset_backoff_seconds: int = 60
    reset_backoff_max_seconds: int = 3600
    # Binding a line by card secret: wrong secrets per line across all accounts (the target),
    # per address; bind_max_failures (above) is per account.
    bind_line_max_failures: int = 5
    bind_ip_max_failures: int = 30
    bind_window_seconds: int = 3600
    bind_backoff_seconds: int = 60
    bind_backoff_max_seconds: int = 3600
    # Shortest card secret staff may give a new line (admin API, CSV import).
    card_secret_min_length: int = 8
    # Vouchers: the window of the PIN counters, and the longest back-off (the first wait is
    # voucher_lockout_seconds).
    voucher_window_seconds: int = 3600
    voucher_backoff_max_seconds: int = 4 * 3600
    # Registration: attempts per address in a window (stops mass sign-ups and login probing).
    register_per_ip: int = 10
    register_window_seconds: int = 3600
    # Money limits (docs/security.md): the smallest and largest top-up (minor units) per
    # currency where no topup_limits row covers the line (unlisted: 1 minor unit, and
    # TOPUP_MAX_MAJOR major units); the largest staff manual credit per currency (unlisted: the
    # top-up default maximum).
    topup_min: dict[str, int] = field(default_factory=dict)
    topup_max: dict[str, int] = field(default_factory=lambda: dict(TOPUP_MAX))
    manual_credit_max: dict[str, int] = field(default_factory=lambda: dict(TOPUP_MAX))
    # Usage records: how far behind and ahead of now a record's occurred_at may be.
    usage_max_age_days: int = 30
    usage_max_ahead_seconds: int = 24 * 3600
    # Request limits (channels/api/limits.py): the largest request body read, the largest
    # bank statement upload, how deeply JSON may nest, and the largest request head
    # (request line + headers) uvicorn buffers in `topup serve`.
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 21 * 1024 * 1024
    max_json_depth: int = 32
    max_header_bytes: int = 16 * 1024

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _floors(text: str | None) -> dict[str, int]:
    """``CNY=1000,USD=200`` (minor units) into a map; unset gives the defaults."""
    if text is None:
        return dict(LOW_BALANCE)
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {cur.strip().upper(): int(amount) for cur, amount in pairs}


def _amounts(text: str | None, default: dict[str, int]) -> dict[str, int]:
    """``CNY=500000,USD=100000`` (minor units per currency); unset gives ``default``."""
    return dict(default) if text is None else _floors(text)


COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def _app_settings() -> dict[str, object]:
    """``TOPUP_THEME_COLOR``, ``TOPUP_HOTLINE_NUMBER``, ``TOPUP_HOTLINE_HOURS`` (and
    ``TOPUP_HOTLINE_HOURS_ZH``) and ``TOPUP_APP_ICONS``, checked here so that a typo stops the
    server at start rather than breaking the installed app."""
    color = os.environ.get("TOPUP_THEME_COLOR", "#0b57d0").strip()
    if not COLOR.fullmatch(color):
        raise ValueError(f"TOPUP_THEME_COLOR is a colour such as #0b57d0, not {color!r}")
    icons = os.environ.get("TOPUP_APP_ICONS", "").strip()
    if icons and not Path(icons).is_dir():
        raise ValueError(f"TOPUP_APP_ICONS is a folder of PNG icons; {icons!r} is not a folder")
    return {"theme_color": color.lower(), "app_icons": icons,
            "hotline_number": os.environ.get("TOPUP_HOTLINE_NUMBER", "").strip(),
            "hotline_hours": os.environ.get("TOPUP_HOTLINE_HOURS", "").strip(),
            "hotline_hours_zh": os.environ.get("TOPUP_HOTLINE_HOURS_ZH", "").strip()}


def _postgres(url: str) -> str:
    """A PostgreSQL URL with the driver this project uses (``postgresql+psycopg``)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _replica_settings(values: dict[str, object]) -> dict[str, object]:
    """``TOPUP_REPLICA_URL``, ``TOPUP_REPLICA_MAX_LAG_SECONDS`` and
    ``TOPUP_REPLICA_RETRY_SECONDS``; a replica needs a PostgreSQL primary."""
    url = _postgres(str(values.get("replica_url", os.environ.get("TOPUP_REPLICA_URL", ""))
                        ).strip())
    if url and not url.startswith("postgresql"):
        raise ValueError("TOPUP_REPLICA_URL is a PostgreSQL URL (a streaming replica)")
    if url and not str(values["database_url"]).startswith("postgresql"):
        raise ValueError("TOPUP_REPLICA_URL needs a PostgreSQL TOPUP_DATABASE_URL")
    found: dict[str, object] = {"replica_url": url}
    for name, default in (("replica_max_lag_seconds", 30.0), ("replica_retry_seconds", 30.0)):
        raw = os.environ.get(f"TOPUP_{name.upper()}")
        found[name] = float(str(values.get(name, default if raw in (None, "") else raw)))
    return found


def _secret_key(data_dir: Path) -> str:
    env = os.environ.get("TOPUP_SECRET_KEY")
    if env:
        return env
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _pools(text: str) -> tuple[tuple[str, str], ...]:
    """``TOPUP_ESIM_ON_DEMAND``: "type:ZONE,type:ZONE" as (type, zone) pairs."""
    found = []
    for item in (i.strip() for i in text.split(",") if i.strip()):
        ptype, sep, zone = item.partition(":")
        if not sep or not ptype.strip() or not zone.strip():
            raise ValueError(f"TOPUP_ESIM_ON_DEMAND: {item!r} is not profile-type:ZONE")
        found.append((ptype.strip(), zone.strip().upper()))
    return tuple(found)


def _notification_settings() -> dict[str, object]:
    """``TOPUP_EMAIL_BACKEND``, ``TOPUP_SMTP_*``, ``TOPUP_SMS_BACKEND``, ``TOPUP_SMPP_*``,
    ``TOPUP_NOTIFY_*`` and ``TOPUP_WORKER_POLL_SECONDS``."""
    env = os.environ.get
    found: dict[str, object] = {
        "email_backend": env("TOPUP_EMAIL_BACKEND", "console").strip().lower(),
        "sms_backend": env("TOPUP_SMS_BACKEND", "console").strip().lower(),
        "smtp_starttls": env("TOPUP_SMTP_STARTTLS", "").strip().lower() in ("1", "true", "yes"),
    }
    for name in ("smtp_host", "smtp_user", "smtp_password", "smtp_from", "smpp_host",
                 "smpp_system_id", "smpp_password", "smpp_system_type", "smpp_source_addr"):
        if f"TOPUP_{name.upper()}" in os.environ:
            found[name] = os.environ[f"TOPUP_{name.upper()}"]
    for name, default in (("smtp_port", 25), ("smtp_timeout_seconds", 30), ("smpp_port", 2775),
                          ("smpp_enquire_link_seconds", 30), ("smpp_timeout_seconds", 10),
                          ("notify_lease_seconds", 120), ("notify_batch_size", 20),
                          ("notify_max_attempts", 8), ("notify_retry_base_seconds", 30),
                          ("notify_retry_max_seconds", 3600), ("worker_poll_seconds", 2)):
        found[name] = _int(f"TOPUP_{name.upper()}", default)
    return found


THROTTLES = ("login_max_failures", "login_lockout_seconds", "login_account_max_failures",
             "login_ip_max_failures", "login_window_seconds", "login_backoff_seconds",
             "login_known_seconds",
             "reset_code_max_attempts", "reset_requests_per_account", "reset_requests_per_ip",
             "reset_request_window_seconds", "reset_max_failures", "reset_ip_max_failures",
             "reset_window_seconds", "reset_backoff_seconds", "reset_backoff_max_seconds",
             "bind_max_failures", "bind_line_max_failures", "bind_ip_max_failures",
             "bind_window_seconds", "bind_backoff_seconds", "bind_backoff_max_seconds",
             "card_secret_min_length", "voucher_window_seconds", "voucher_backoff_max_seconds",
             "register_per_ip", "register_window_seconds")


def _throttle_settings() -> dict[str, object]:
    """``TOPUP_<NAME>`` for each throttle setting that the environment sets."""
    return {name: _int(f"TOPUP_{name.upper()}", 0) for name in THROTTLES
            if os.environ.get(f"TOPUP_{name.upper()}")}


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment; keyword arguments win (tests, CLI flags)."""
    data_dir = Path(str(overrides.pop("data_dir", None) or os.environ.get("TOPUP_DATA_DIR", "var")))
    data_dir = data_dir.resolve()
    url = str(
        overrides.pop("database_url", None)
        or os.environ.get("TOPUP_DATABASE_URL")
        or f"sqlite:///{data_dir / 'topup.db'}"
    )
    url = _postgres(url)
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": url,
        "database_pooler": database_pooler(),
        "operator_name": os.environ.get("TOPUP_OPERATOR_NAME", "topup"),
        "default_currency": os.environ.get("TOPUP_DEFAULT_CURRENCY", "CNY"),
        "token_ttl_seconds": _int("TOPUP_TOKEN_TTL_SECONDS", 7 * 24 * 3600),
        "web_session_idle_seconds": _int("TOPUP_WEB_SESSION_IDLE_SECONDS", 3600),
        "web_session_max_seconds": _int("TOPUP_WEB_SESSION_MAX_SECONDS", 24 * 3600),
        "duplicate_topup_window_seconds": _int("TOPUP_DUPLICATE_WINDOW_SECONDS", 300),
        "topup_validity_days": _int("TOPUP_TOPUP_VALIDITY_DAYS", 180),
        "archive_retention_months": max(1, _int("TOPUP_ARCHIVE_RETENTION_MONTHS", 12)),
        "partition_id_span": max(1000, _int("TOPUP_PARTITION_ID_SPAN", 10_000_000)),
        "writer_max_batch": max(1, _int("TOPUP_WRITER_MAX_BATCH", 256)),
        "writer_socket": os.environ.get("TOPUP_WRITER_SOCKET", "").strip(),
        "writer_pipeline": _pipeline(os.environ.get("TOPUP_WRITER_PIPELINE", "thread")),
        "retry_attempts": max(1, _int("TOPUP_RETRY_ATTEMPTS", 5)),
        "retry_seconds": float(os.environ.get("TOPUP_RETRY_SECONDS") or 3.0),
        "auth_cache_seconds": float(os.environ.get("TOPUP_AUTH_CACHE_SECONDS") or 5.0),
        "argon2_time_cost": _int("TOPUP_ARGON2_TIME_COST", 3),
        "payment_ttl_minutes": _int("TOPUP_PAYMENT_TTL_MINUTES", 30),
        "late_payment_policy": os.environ.get("TOPUP_LATE_PAYMENT_POLICY", "credit"),
        "bank_payment_ttl_days": _int("TOPUP_BANK_PAYMENT_TTL_DAYS", 14),
        "grace_days": _int("TOPUP_GRACE_DAYS", 7),
        "suspended_days": _int("TOPUP_SUSPENDED_DAYS", 30),
        "renew_lead_minutes": _int("TOPUP_RENEW_LEAD_MINUTES", 60),
        "embedded_worker": os.environ.get("TOPUP_EMBEDDED_WORKER", "1").lower()
        not in ("0", "false", "no", "off"),
        "max_renewals_per_day": _int("TOPUP_MAX_RENEWALS_PER_DAY", 3),
        "low_balance": _floors(os.environ.get("TOPUP_LOW_BALANCE")),
        "auto_topup_max_per_day": max(1, _int("TOPUP_AUTO_TOPUP_MAX_PER_DAY", 3)),
        "auto_topup_max_amount_per_day": _amounts(
            os.environ.get("TOPUP_AUTO_TOPUP_MAX_AMOUNT_PER_DAY"), TOPUP_MAX),
        "renewal_retry_minutes": tuple(int(m) for m in os.environ.get(
            "TOPUP_RENEWAL_RETRY_MINUTES", "60,240,720").split(",") if m.strip()),
        "argon2_memory_kib": _int("TOPUP_ARGON2_MEMORY_KIB", 65536),
        "voucher_max_failures": _int("TOPUP_VOUCHER_MAX_FAILURES", 5),
        "voucher_max_failures_shared": _int("TOPUP_VOUCHER_MAX_FAILURES_SHARED", 20),
        "voucher_lockout_seconds": _int("TOPUP_VOUCHER_LOCKOUT_SECONDS", 900),
        "voucher_checks_per_ip": _int("TOPUP_VOUCHER_CHECKS_PER_IP", 30),
        "voucher_hold_seconds": _int("TOPUP_VOUCHER_HOLD_SECONDS", 300),
        "alert_email": os.environ.get("TOPUP_ALERT_EMAIL", ""),
        "esim_low_stock": _int("TOPUP_ESIM_LOW_STOCK", 20),
        "cashback_after_days": _int("TOPUP_CASHBACK_AFTER_DAYS", 7),
        "points_earn_per": _int("TOPUP_POINTS_EARN_PER", 100),
        "points_worth": _int("TOPUP_POINTS_WORTH", 1),
        "points_max_share_bp": _int("TOPUP_POINTS_MAX_SHARE_BP", 2000),
        "points_expire_days": _int("TOPUP_POINTS_EXPIRE_DAYS", 365),
        "referral_points": _int("TOPUP_REFERRAL_POINTS", 500),
        "smdp_callback_token": os.environ.get("TOPUP_SMDP_CALLBACK_TOKEN", ""),
        "smdp_identity": os.environ.get("TOPUP_SMDP_IDENTITY", ""),
        **{name: os.environ.get(f"TOPUP_{name.upper()}", "").strip() for name in (
            "smdp_url", "smdp_requester", "smdp_address", "smdp_client_cert",
            "smdp_client_key", "smdp_ca")},
        "esim_on_demand": _pools(os.environ.get("TOPUP_ESIM_ON_DEMAND", "")),
        "topup_min": _amounts(os.environ.get("TOPUP_TOPUP_MIN"), {}),
        "topup_max": _amounts(os.environ.get("TOPUP_TOPUP_MAX"), TOPUP_MAX),
        "manual_credit_max": _amounts(os.environ.get("TOPUP_MANUAL_CREDIT_MAX"), TOPUP_MAX),
        "usage_max_age_days": _int("TOPUP_USAGE_MAX_AGE_DAYS", 30),
        "usage_max_ahead_seconds": _int("TOPUP_USAGE_MAX_AHEAD_SECONDS", 24 * 3600),
    }
    if "TOPUP_PUBLIC_URL" in os.environ:
        values["public_url"] = os.environ["TOPUP_PUBLIC_URL"].rstrip("/")
    if "TOPUP_PAYMENT_PROVIDERS" in os.environ:
        values["payment_providers"] = tuple(
            n.strip() for n in os.environ["TOPUP_PAYMENT_PROVIDERS"].split(",") if n.strip())
    if "TOPUP_CURRENCIES" in os.environ:
        values["currencies"] = tuple(
            c.strip().upper() for c in os.environ["TOPUP_CURRENCIES"].split(",") if c.strip()
        )
    if "TOPUP_KYC_COUNTRIES" in os.environ:
        values["kyc_countries"] = tuple(
            c.strip().upper() for c in os.environ["TOPUP_KYC_COUNTRIES"].split(",") if c.strip())
    values["default_language"] = os.environ.get("TOPUP_DEFAULT_LANGUAGE", "en")
    values["metrics_token"] = os.environ.get("TOPUP_METRICS_TOKEN", "")
    values["trusted_proxies"] = tuple(
        a.strip() for a in os.environ.get("TOPUP_TRUSTED_PROXIES", "").split(",") if a.strip())
    for gateway in ("ussd", "sms"):
        env = f"TOPUP_{gateway.upper()}_GATEWAY"
        values[f"{gateway}_gateway_token"] = os.environ.get(f"{env}_TOKEN", "")
        values[f"{gateway}_gateway_ips"] = tuple(
            a.strip() for a in os.environ.get(f"{env}_IPS", "").split(",") if a.strip())
    values.update(_notification_settings())
    values.update(_throttle_settings())
    values.update(_app_settings())
    for name, default in (("max_body_bytes", 1024 * 1024), ("max_upload_bytes", 21 * 1024 * 1024),
                          ("max_json_depth", 32), ("max_header_bytes", 16 * 1024)):
        values[name] = _int(f"TOPUP_{name.upper()}", default)
    values.update(overrides)
    values.update(_replica_settings(values))
    if "secret_key" not in values:
        values["secret_key"] = _secret_key(data_dir)
    return Settings(**values)  # type: ignore[arg-type]
