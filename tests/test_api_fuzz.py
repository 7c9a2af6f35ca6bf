"""A bounded schemathesis run against `/api/v1/openapi.json` (issue 11, point 8): every operation of the published
API, called with generated input as a fresh organization's API key (path parameters: that organization's own
objects, so that handlers run past their 404), answers no 5xx and nothing its documented schema does not allow.

Bounded for CI: a few examples per operation, derandomized (the same inputs every run, so a failure reproduces)."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from test_tenancy import org_objects

EXAMPLES = 15  # per operation and backend: about half a minute a backend on 2 cores
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _run(client, operation, headers: dict[str, str], path_parameters: dict[str, str]) -> None:  # noqa: ANN001
    # A server-sent event feed (the inbox's) ends at once rather than after its generated `timeout` seconds.
    streams = {p.name for p in operation.iter_parameters() if p.location.value == "query"} & {"timeout"}
    query = dict.fromkeys(streams, 0) or None

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(path_parameters=path_parameters or None, query=query))
    def call(case) -> None:  # noqa: ANN001
        # Through the test's own client: schemathesis's ASGI transport expects `requests`' connection pools.
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
        if isinstance(kwargs.get("data"), bytes | str):  # a raw body: httpx wants it as `content`
            kwargs["content"] = kwargs.pop("data")
        if kwargs.get("files"):  # httpx sends str or bytes form fields, not numbers: as their text
            kwargs["files"] = [(n, (f, v if isinstance(v, str | bytes) else str(v))) for n, (f, v) in kwargs["files"]]
        response = client.request(**kwargs, follow_redirects=False)
        case.validate_response(response, checks=CHECKS, headers=headers)

    call()


def test_the_api_answers_generated_input_without_server_errors_or_schema_breaks(client, make_org) -> None:
    org = make_org()
    spare_key = org.client.post("/api/v1/api-keys", json={"name": "to revoke"}).json()["id"]  # not the run's own
    ids = org_objects(client, org) | {"session_id": "ses_x", "kind": "privacy", "key_id": spare_key}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: op.method.upper() == "DELETE")  # deletions last: the rest runs on live objects
    failures, ran = [], 0
    for operation in operations:
        names = re.findall(r"{(\w+)}", operation.path)
        try:
            _run(client, operation, org.headers, {n: ids[n] for n in names if n in ids})
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - each operation's failures, reported together
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
            print(f"=== {operation.label}\n{exc}")
        ran += 1
    assert ran > 100
    if failures:
        pytest.fail(f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures))


def test_what_the_run_found_is_refused_with_a_clear_422(client, make_org, db_url) -> None:
    org = make_org()
    huge = str(2**80)
    for url in (f"/api/v1/appointments?offset={huge}", f"/api/v1/legal/privacy?version={huge}"):
        r = org.get(url)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid", r.text
    r = org.post("/api/v1/agents", json={"name": "Bot\x00"})
    if db_url.startswith("postgresql"):  # PostgreSQL's text cannot hold NUL; SQLite's can
        assert r.status_code == 422 and "NUL" in r.json()["error"]["message"], r.text
    else:
        assert r.status_code == 201, r.text
    assert org.get("/api/v1/schemas/account-export.json").headers["content-type"] == "application/schema+json"
