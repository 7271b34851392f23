"""Schemathesis over the whole OpenAPI document, as a customer, an agent and an admin.

Every operation gets Schemathesis' examples and coverage phases (boundary and just-out-of-range
values of every parameter and field) and a bounded number of generated requests (valid and
invalid ones), against the app in-process, on a seeded database. Each answer must: not be a
server error, carry a status the document lists for the operation, carry a content type the
document lists, and match the schema documented for it. Generation is derandomized, so a run
is reproducible: a failure names the operation and the request (as a curl command) that broke
the contract.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import Api, make_line, sandbox_shop
from topup.db.uow import Database

CHECKS: list[Callable[..., Any]] = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Generated per operation, role and mode beyond the examples and the coverage phase. The
# contract is the app's; the database matters where a value reaches it (boundaries, which the
# coverage phase sends on both): PostgreSQL gets fewer random cases (~20 s per role, not 30).
CASES = {"sqlite": 20, "postgres": 6}


def _settings(backend: str) -> settings:
    return settings(max_examples=CASES[backend], derandomize=True, database=None,
                    deadline=None, phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck))
REFUSED = {401, 403}  # the role's login is not enough for the operation
# Ending the caller's own session would leave the rest of the run unauthenticated.
LAST = ("/api/v1/auth/logout",)
REACHED = {"customer": "GET /api/v1/lines", "agent": "GET /api/v1/pos/me",
           "admin": "GET /api/v1/admin/agents"}


def _agent_login(api: Api, staff: dict[str, str]) -> dict[str, str]:
    """A store under the standard tier, with a POS login, and a little float."""
    r = api.client.put("/api/v1/admin/agent-tiers/std", headers=staff, json={
        "name": "Standard", "topup_bp": 150, "voucher_bp": 300})
    assert r.status_code == 200, r.text
    r = api.client.post("/api/v1/admin/agents", headers=staff, json={
        "kind": "store", "name": "Corner Store", "tier": "std", "country": "HK",
        "currency": "CNY"})
    assert r.status_code == 201, r.text
    agent_id = r.json()["id"]
    email = f"pos-{uuid.uuid4().hex[:8]}@example.com"
    r = api.client.post(f"/api/v1/admin/agents/{agent_id}/staff", headers=staff,
                        json={"email": email, "password": "correct-horse-battery"})
    assert r.status_code == 201, r.text
    r = api.post(f"/api/v1/admin/agents/{agent_id}/float", staff, key=uuid.uuid4().hex,
                 json={"amount": 50_000, "reference": "seed", "reason": "opening float"})
    assert r.status_code == 201, r.text
    return api.login(email)


def _fuzz(api: Api, role: str, auth: dict[str, str], answered: set[str], backend: str
          ) -> list[str]:
    """Run every operation; return one line per contract failure, and add to ``answered``
    each operation that answered 2xx at least once."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    failures: list[str] = []
    operations = sorted((op.ok() for op in schema.get_all_operations()),
                        key=lambda op: (op.path in LAST, op.path, op.method))
    for operation in operations:
        failure = _run(schema, operation, auth, answered, _settings(backend))
        if failure:
            failures.append(f"[{role}] {operation.method.upper()} {operation.path}: {failure}")
    return failures


def _run(schema: Any, operation: Any, auth: dict[str, str], answered: set[str],
         chosen: settings) -> str | None:
    """Schemathesis' three phases for one operation, as its pytest plugin runs them: the
    document's examples, the coverage phase (boundary and just-out-of-range values of every
    parameter and field, e.g. 2^63 for a bounded id), then ``CASES`` generated cases in each
    mode (valid, invalid). An operation that refused the role (401/403) on every example
    and boundary value refuses it before reading any input: no cases are generated for it."""
    statuses: set[int] = set()

    def check(case: Any) -> None:
        response = case.call_and_validate(headers=auth, checks=CHECKS)
        if case.method.upper() == operation.method.upper():  # not the other methods' 405
            statuses.add(response.status_code)
        if response.status_code < 300:
            answered.add(f"{case.method} {operation.path}")

    explicit = [HypothesisTestMode.EXAMPLES, HypothesisTestMode.COVERAGE]
    failure = _phases(schema, operation, check, explicit, chosen)
    if failure is not None or (statuses and statuses <= REFUSED):
        return failure
    return _phases(schema, operation, check, [HypothesisTestMode.FUZZING], chosen)


def _phases(schema: Any, operation: Any, check: Callable[[Any], None],
            modes: list[HypothesisTestMode], chosen: settings) -> str | None:
    test = create_test(operation=operation, test_func=check, config=HypothesisTestConfig(
        project=schema.config, modes=modes, settings=chosen))
    try:
        test()
    except Unsatisfiable:  # nothing to make invalid (an operation without input)
        return None
    except BaseExceptionGroup as exc:  # contract failures: keep going, report them all
        return str(exc).strip()[:2000]
    return None


@pytest.fixture
def seeded(catalogue: Database) -> tuple[Api, dict[str, dict[str, str]]]:
    shop = sandbox_shop(catalogue)
    make_line(catalogue, msisdn="+85261234567", country="HK")
    roles = {"customer": shop.me, "admin": shop.staff,
             "agent": _agent_login(shop.api, shop.staff)}
    return shop.api, roles


@pytest.mark.parametrize("role", ["customer", "agent", "admin"])
def test_the_api_keeps_its_contract(seeded: tuple[Api, dict[str, dict[str, str]]],
                                    role: str, backend: str) -> None:
    api, roles = seeded
    answered: set[str] = set()
    failures = _fuzz(api, role, roles[role], answered, backend)
    # The run got past authentication into the role's own operations.
    assert {"GET /api/v1/auth/me", REACHED[role]} <= answered, sorted(answered)
    if failures:
        pytest.fail(f"{len(failures)} contract failures:\n\n" + "\n\n".join(failures))
