"""Two-step verification through the JSON API, as a person and their browser use it: authenticator app (a code
works once), recovery codes (each once), SMS codes (expiry, tries), the two-step log-in, the organization's
policy and step-up re-authentication."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from jasping.db import get_engine
from security_fixtures import (  # noqa: F401 - fixtures
    PASSWORD,
    actions,
    add_member,
    app_clock,
    audit_details,
    code_at,
    enable_totp,
    last_sms_code,
    register,
    twilio,
)

PHONE = "+33612345678"


def _login_mfa(person):  # noqa: ANN001, ANN202
    r = person.login()
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mfa_required"] is True and "set-cookie" not in r.headers
    return body


def test_enrol_totp_then_log_in_in_two_steps_and_a_code_works_once(client, app_clock) -> None:  # noqa: F811
    nadia = register()
    r = nadia.client.post("/api/v1/auth/mfa/totp")
    assert r.status_code == 201, r.text
    enrol = r.json()
    assert enrol["otpauth_uri"].startswith("otpauth://totp/JasPing:") and "issuer=JasPing" in enrol["otpauth_uri"]
    assert enrol["qr_svg"].startswith("<svg") and len(enrol["secret"]) == 32
    wrong = nadia.client.post("/api/v1/auth/mfa/totp/confirm", json={"code": "000000"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "invalid_code"
    r = nadia.client.post("/api/v1/auth/mfa/totp/confirm", json={"code": code_at(enrol["secret"], app_clock.now)})
    assert r.status_code == 200 and len(r.json()["recovery_codes"]) == 10
    status = nadia.client.get("/api/v1/auth/mfa").json()
    assert status["enabled"] and status["totp"] and status["recovery_codes_left"] == 10

    # the secret is encrypted at rest
    with get_engine().connect() as conn:
        stored = conn.execute(text("SELECT secret FROM mfa_factors")).scalar()
    assert stored.startswith("jp1:") and enrol["secret"] not in stored

    assert nadia.client.post("/api/v1/auth/logout").status_code == 204
    challenge = _login_mfa(nadia)
    assert challenge["methods"] == ["totp", "recovery"] and len(challenge["mfa_token"]) > 30
    assert nadia.client.get("/api/v1/auth/me").status_code == 401  # no session yet

    # the code used to confirm the app is spent: the same time-step is refused
    same = code_at(enrol["secret"], app_clock.now)
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "method": "totp", "code": same}
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_code"

    app_clock.advance(seconds=30)
    code = code_at(enrol["secret"], app_clock.now)
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "method": "totp", "code": code}
    )
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == nadia.user_id and r.json()["mfa_enabled"] is True
    assert "HttpOnly" in r.headers["set-cookie"]
    assert nadia.client.get("/api/v1/auth/me").status_code == 200

    # the token worked once; the same code on a new log-in is refused (replay)
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "method": "totp", "code": code}
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "mfa_token_invalid"
    again = _login_mfa(nadia)
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": again["mfa_token"], "method": "totp", "code": code}
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_code"

    log = actions(nadia.user_id)
    assert {"mfa.enrol", "mfa.failed", "mfa.verified", "auth.login_mfa"} <= set(log)
    assert {"method": "totp"} in audit_details("mfa.enrol")


def test_a_recovery_code_works_once(client, app_clock) -> None:  # noqa: F811
    nadia = register()
    _, codes = enable_totp(nadia)
    challenge = _login_mfa(nadia)
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify",
        json={"mfa_token": challenge["mfa_token"], "method": "recovery", "code": codes[3].upper().replace("-", " ")},
    )
    assert r.status_code == 200, r.text
    assert nadia.client.get("/api/v1/auth/mfa").json()["recovery_codes_left"] == 9
    challenge = _login_mfa(nadia)
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "method": "recovery", "code": codes[3]}
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_code"
    assert "mfa.recovery_code_used" in actions(nadia.user_id)

    # regenerating (a sensitive change: the session is fresh) replaces every code
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "method": "recovery", "code": codes[4]}
    )
    assert r.status_code == 200
    nadia.refresh_csrf()
    fresh = nadia.client.post("/api/v1/auth/mfa/recovery-codes").json()["recovery_codes"]
    assert len(set(fresh)) == 10 and not set(fresh) & set(codes)
    challenge = _login_mfa(nadia)
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "method": "recovery", "code": codes[5]}
    )
    assert r.status_code == 401


def test_five_wrong_codes_end_the_pending_log_in(client, app_clock) -> None:  # noqa: F811
    nadia = register()
    secret, _ = enable_totp(nadia)
    app_clock.advance(seconds=30)
    challenge = _login_mfa(nadia)
    for _ in range(5):
        r = nadia.client.post(
            "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "method": "totp", "code": "123456"}
        )
        assert r.status_code == 401
    good = code_at(secret, app_clock.now)
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "method": "totp", "code": good}
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "mfa_token_invalid"
    expired = _login_mfa(nadia)
    app_clock.advance(minutes=11)
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify",
        json={"mfa_token": expired["mfa_token"], "method": "totp", "code": code_at(secret, app_clock.now)},
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "mfa_token_invalid"


def test_bad_mfa_input_is_a_clear_4xx(client) -> None:
    nadia = register()
    r = nadia.client.post("/api/v1/auth/mfa/verify", json={"mfa_token": "x", "method": "carrier-pigeon", "code": "1"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
    r = nadia.client.post("/api/v1/auth/mfa/verify", json={"mfa_token": "nope", "method": "totp", "code": "123456"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "mfa_token_invalid"
    assert nadia.client.post("/api/v1/auth/mfa/totp/confirm", json={"code": "123456"}).status_code == 404
    assert nadia.client.post("/api/v1/auth/mfa/recovery-codes").status_code == 409
    r = nadia.client.post("/api/v1/auth/mfa/sms", json={"phone": "0612345678"})
    assert r.status_code in (422, 503)
    anonymous = register("other@example.org").client
    anonymous.cookies.clear()
    assert anonymous.post("/api/v1/auth/mfa/totp").status_code == 401


def test_sms_codes_expire_and_allow_five_tries(client, app_clock, twilio) -> None:  # noqa: F811
    nadia = register()
    r = nadia.client.post("/api/v1/auth/mfa/sms", json={"phone": "+33 6 12 34 56 78"})
    assert r.status_code == 202, r.text
    assert r.json()["sent_to"].endswith("78") and "•" in r.json()["sent_to"]
    code = last_sms_code(twilio, PHONE)
    assert len(code) == 6 and code.isdigit()
    r = nadia.client.post("/api/v1/auth/mfa/sms/confirm", json={"code": code})
    assert r.status_code == 200 and len(r.json()["recovery_codes"]) == 10
    assert nadia.client.get("/api/v1/auth/mfa").json()["sms"] is True

    # log in with an SMS code
    challenge = _login_mfa(nadia)
    assert challenge["methods"] == ["sms", "recovery"]
    r = nadia.client.post("/api/v1/auth/mfa/sms/send", json={"mfa_token": challenge["mfa_token"]})
    assert r.status_code == 202
    code = last_sms_code(twilio, PHONE)
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "method": "sms", "code": code}
    )
    assert r.status_code == 200, r.text

    # a code expires after ten minutes (here one to re-authenticate with)
    nadia.refresh_csrf()
    assert nadia.client.post("/api/v1/auth/reauthenticate/sms").status_code == 202
    code = last_sms_code(twilio, PHONE)
    app_clock.advance(minutes=10, seconds=1)
    r = nadia.client.post("/api/v1/auth/reauthenticate", json={"method": "sms", "code": code})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_code"
    nadia.client.post("/api/v1/auth/reauthenticate/sms")
    r = nadia.client.post("/api/v1/auth/reauthenticate", json={"method": "sms", "code": last_sms_code(twilio, PHONE)})
    assert r.status_code == 200

    # five wrong tries end the code (the right one is refused after them)
    app_clock.advance(minutes=16)  # past the quarter hour's SMS limit
    challenge = _login_mfa(nadia)
    nadia.client.post("/api/v1/auth/mfa/sms/send", json={"mfa_token": challenge["mfa_token"]})
    code = last_sms_code(twilio, PHONE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        r = nadia.client.post(
            "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "method": "sms", "code": wrong}
        )
        assert r.status_code == 401
    second = _login_mfa(nadia)  # a new log-in: the code of the first one is not valid for it
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": second["mfa_token"], "method": "sms", "code": code}
    )
    assert r.status_code == 401
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "method": "sms", "code": wrong}
    )
    assert r.status_code == 401  # the fifth wrong try: the token's tries are spent too
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "method": "sms", "code": code}
    )
    assert r.status_code == 401
    assert "mfa.sms_sent" in actions(nadia.user_id)


def test_a_failed_sms_send_is_a_clear_503(client, twilio) -> None:  # noqa: F811
    nadia = register()
    twilio.fail(400, {"code": 21211, "message": "Invalid 'To' Phone Number"})
    r = nadia.client.post("/api/v1/auth/mfa/sms", json={"phone": PHONE})
    assert r.status_code == 503 and r.json()["error"]["code"] == "sms_unavailable"


def test_the_organization_can_require_mfa_of_every_member(client, app_clock) -> None:  # noqa: F811
    owner = register()
    member = add_member(owner.org_id, "karim@example.org")
    assert member.client.get("/api/v1/agents").status_code == 200

    r = owner.client.put("/api/v1/organization/security", json={"require_mfa": True})
    assert r.status_code == 409 and r.json()["error"]["code"] == "mfa_not_enabled"  # not without it yourself
    enable_totp(owner)
    r = owner.client.put("/api/v1/organization/security", json={"require_mfa": True})
    assert r.status_code == 200 and r.json() == {"require_mfa": True, "members_without_mfa": 1}
    assert "organization.mfa_policy" in actions(owner.user_id)
    forbidden = member.client.put("/api/v1/organization/security", json={"require_mfa": False})
    assert forbidden.status_code == 403

    # the member is sent to enrolment: nothing else works until it is done
    r = member.client.get("/api/v1/agents")
    assert r.status_code == 403 and r.json()["error"]["code"] == "mfa_enrolment_required"
    me = member.client.get("/api/v1/auth/me").json()
    assert me["mfa_enrolment_required"] is True and me["mfa_enabled"] is False
    page = member.client.get("/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/security")
    assert "two-step verification" in member.client.get("/security").text
    enable_totp(member)
    assert member.client.get("/api/v1/agents").status_code == 200
    assert member.client.get("/api/v1/auth/me").json()["mfa_enrolment_required"] is False

    # nobody can remove their last factor while the organization requires one
    r = member.client.delete("/api/v1/auth/mfa/totp")
    assert r.status_code == 409 and r.json()["error"]["code"] == "mfa_required_by_organization"
    # API keys are not people: they keep working
    key = owner.client.post("/api/v1/api-keys", json={"name": "ci"}).json()["secret"]
    assert client.get("/api/v1/agents", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_sensitive_actions_need_a_recent_password_or_code(client, app_clock) -> None:  # noqa: F811
    nadia = register()
    secret, _ = enable_totp(nadia)
    app_clock.advance(minutes=11)
    nadia.client.get("/api/v1/auth/me")  # active: the session does not idle out meanwhile
    r = nadia.client.post("/api/v1/api-keys", json={"name": "zapier"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "reauthentication_required"
    assert "/api/v1/auth/reauthenticate" in r.json()["error"]["message"]
    r = nadia.client.delete("/api/v1/auth/mfa/totp")
    assert r.status_code == 403 and r.json()["error"]["code"] == "reauthentication_required"
    assert nadia.client.post("/api/v1/auth/mfa/recovery-codes").status_code == 403
    # integration secrets and a contact's export or erasure too (checked before the body or the object)
    for method, path in (
        ("POST", "/api/v1/integrations"),
        ("POST", "/api/v1/integrations/google/authorize"),
        ("POST", "/api/v1/agents/agt_any/channels"),
        ("GET", "/api/v1/contacts/cot_any/export"),
        ("DELETE", "/api/v1/contacts/cot_any"),
    ):
        r = nadia.client.request(method, path, json={"type": "webhook"} if method == "POST" else None)
        assert r.status_code == 403 and r.json()["error"]["code"] == "reauthentication_required", (path, r.text)

    r = nadia.client.post("/api/v1/auth/reauthenticate", json={"password": "wrong password!"})
    assert r.status_code == 401
    r = nadia.client.post("/api/v1/auth/reauthenticate", json={"password": PASSWORD, "code": "1"})
    assert r.status_code == 422
    r = nadia.client.post("/api/v1/auth/reauthenticate", json={"password": PASSWORD})
    assert r.status_code == 200, r.text
    assert nadia.client.post("/api/v1/api-keys", json={"name": "zapier"}).status_code == 201

    app_clock.advance(minutes=11)
    nadia.client.get("/api/v1/auth/me")
    assert nadia.client.delete("/api/v1/auth/mfa/totp").status_code == 403
    r = nadia.client.post(
        "/api/v1/auth/reauthenticate", json={"method": "totp", "code": code_at(secret, app_clock.now)}
    )
    assert r.status_code == 200, r.text
    assert nadia.client.delete("/api/v1/auth/mfa/totp").status_code == 204
    assert nadia.client.get("/api/v1/auth/mfa").json() == {
        "enabled": False,
        "totp": False,
        "sms": False,
        "phone_hint": None,
        "recovery_codes_left": 0,
        "sms_available": False,
        "required_by": [],
    }
    log = actions(nadia.user_id)
    assert {"auth.reauthenticate", "auth.reauthenticate_failed", "mfa.disable"} <= set(log)
    r = nadia.login()
    assert r.status_code == 200 and "mfa_required" not in r.json()  # back to one step


def test_step_up_window_is_the_setting(client, app_clock, monkeypatch) -> None:  # noqa: F811
    from jasping.config import get_settings

    monkeypatch.setenv("JASPING_STEP_UP_MINUTES", "2")
    get_settings.cache_clear()
    try:
        nadia = register()
        app_clock.advance(minutes=1)
        assert nadia.client.post("/api/v1/api-keys", json={"name": "a"}).status_code == 201
        app_clock.advance(minutes=1, seconds=1)
        assert nadia.client.post("/api/v1/api-keys", json={"name": "b"}).status_code == 403
    finally:
        monkeypatch.delenv("JASPING_STEP_UP_MINUTES")
        get_settings.cache_clear()


def test_time_steps_either_side_are_accepted_for_clock_drift_but_not_further(client, app_clock) -> None:  # noqa: F811
    nadia = register()
    secret, _ = enable_totp(nadia)
    app_clock.advance(minutes=5)
    challenge = _login_mfa(nadia)
    old = code_at(secret, app_clock.now - timedelta(seconds=90))
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "method": "totp", "code": old}
    )
    assert r.status_code == 401
    behind = code_at(secret, app_clock.now - timedelta(seconds=30))
    r = nadia.client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "method": "totp", "code": behind}
    )
    assert r.status_code == 200
