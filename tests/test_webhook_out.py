"""The outgoing webhook's signature as a receiver checks it (JasPing's helper and the example in docs/leads.md):
a good signature passes; a forged one, a changed body, another secret or an old or future time fail. Connecting
a webhook: http(s) URLs only, clear 422s, nothing half-written, the secret shown once."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from jasping.integrations import webhook_out
from jasping.integrations.webhook_out import sign, signature_header, verify

ROOT = Path(__file__).resolve().parents[1]
SECRET = "whsec_test-secret"
BODY = '{"id":"evt_1","type":"lead.created","lead":{"name":"سلمى 🌸"}}'.encode()


def _doc_verifier():  # noqa: ANN202
    """The `verify_jasping` function of docs/leads.md, run as a receiver would copy it."""
    text = (ROOT / "docs" / "leads.md").read_text(encoding="utf-8")
    (code,) = [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "def verify_jasping" in block]
    namespace: dict = {}
    exec(compile(code, "docs/leads.md", "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify_jasping"]


@pytest.fixture(params=["helper", "docs"])
def check(request):  # noqa: ANN201
    """verify(secret, body, header, now) for JasPing's helper and for the documented example."""
    if request.param == "helper":
        return lambda secret, body, header, now: verify(secret, body, header, now=now)
    documented = _doc_verifier()

    def run(secret, body, header, now):  # noqa: ANN001, ANN202
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(time, "time", lambda: now)
            return documented(secret, body, header)

    return run


def test_a_good_signature_passes(check) -> None:
    now = 1_780_000_000
    header = signature_header(SECRET, now, BODY)
    assert header == f"t={now},v1={sign(SECRET, now, BODY)}" and len(sign(SECRET, now, BODY)) == 64
    assert check(SECRET, BODY, header, now)
    assert check(SECRET, BODY, header, now + webhook_out.TOLERANCE)  # a slow network, a clock a little off


def test_forged_changed_and_replayed_requests_fail(check) -> None:
    now = 1_780_000_000
    header = signature_header(SECRET, now, BODY)
    assert not check("whsec_another", BODY, header, now)  # another secret
    assert not check(SECRET, BODY.replace(b"created", b"updated"), header, now)  # the body was changed
    assert not check(SECRET, BODY, header.replace(f"t={now}", f"t={now + 1}"), now)  # the time was changed
    assert not check(SECRET, BODY, header, now + webhook_out.TOLERANCE + 1)  # replayed later
    assert not check(SECRET, BODY, signature_header(SECRET, now + 3600, BODY), now)  # from the future
    old = now - 3600  # an old request re-signed by someone without the secret
    assert not check(SECRET, BODY, f"t={now},v1={sign('guess', now, BODY)}", now)
    assert not check(SECRET, BODY, f"t={old},v1={sign(SECRET, old, BODY)}", now)
    for garbage in ("", "v1=abc", "t=abc,v1=00", f"t={now}", f"t={now},v1=", "nonsense"):
        assert not check(SECRET, BODY, garbage, now), garbage


def test_the_helper_takes_any_of_several_signatures() -> None:
    now = 1_780_000_000
    header = f"t={now},v1={sign('whsec_old', now, BODY)},v1={sign(SECRET, now, BODY)}"
    assert verify(SECRET, BODY, header, now=now) and verify("whsec_old", BODY, header, now=now)
    assert not verify("whsec_other", BODY, header, now=now)


def test_a_secret_is_made_per_webhook() -> None:
    first, second = webhook_out.new_secret(), webhook_out.new_secret()
    assert first != second and first.startswith("whsec_") and len(first) > 40


@pytest.fixture
def org_agent(make_org):  # noqa: ANN201
    org = make_org("Riad")
    return org, org.post("/api/v1/agents", json={"name": "Amal"}).json()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://crm.example.com/in", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("crm.example.com/in", "http:// or https://"),
        ("https://", "no host"),
        ("https://user:pw@crm.example.com/in", "no user name or password"),
        ("https://crm.example.com/a b", "spaces"),
        ("", "at least 1 character"),
    ],
)
def test_only_http_urls_are_accepted(org_agent, url, says) -> None:
    org, agent = org_agent
    r = org.post("/api/v1/integrations", json={"type": "webhook", "agent_id": agent["id"], "url": url})
    assert r.status_code == 422, r.text
    assert says in r.json()["error"]["message"]
    assert org.get("/api/v1/integrations").json()["integrations"] == []  # nothing half-written


def test_bad_bodies_and_the_type_listing(org_agent) -> None:
    org, agent = org_agent
    missing = org.post("/api/v1/integrations", json={"type": "webhook", "agent_id": agent["id"]})
    assert missing.status_code == 422 and "url" in missing.json()["error"]["message"]
    sneaky = org.post(
        "/api/v1/integrations",
        json={"type": "webhook", "url": "https://crm.example.com/in", "signing_secret": "mine"},
    )
    assert sneaky.status_code == 422 and "signing_secret" in sneaky.json()["error"]["message"]
    assert org.get("/api/v1/integrations").json()["integrations"] == []
    (kind,) = [t for t in org.get("/api/v1/integrations/types").json()["types"] if t["type"] == "webhook"]
    assert kind["needs_agent"] is False and "url" in kind["settings_schema"]["properties"]
    made = org.post("/api/v1/integrations", json={"type": "webhook", "url": "https://crm.example.com/in"})
    assert made.status_code == 201 and made.json()["agent_id"] is None  # every agent's leads
    secret = made.json()["shown_once"]["signing_secret"]
    listed = org.get("/api/v1/integrations").text
    assert secret not in listed and "signing_secret" in listed  # its name, never its value
