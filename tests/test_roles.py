"""The role matrix (`jasping.security.roles`, issue 11 point 3): every route of the app is in it, and every route that
needs a log-in answers as the matrix says to each role — owner, admin, agent, viewer, and the operator's superadmin
(an operator who is a viewer of the organization: being the operator gives no power inside an organization)."""

from __future__ import annotations

import json
import re

from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from jasping.db import open_session, session_scope
from jasping.security import roles
from jasping.security.audit import AuditEvent
from jasping.tenancy import operators
from jasping.tenancy.models import Role
from security_fixtures import PASSWORD, Person, add_member
from test_tenancy import QUERY, _body, org_objects

# Routes that end the caller's session: walked last, each from a fresh log-in.
ENDS_SESSION = (
    ("POST", "/api/v1/auth/sessions/revoke-all"),
    ("POST", "/security/sessions/revoke-all"),
    ("DELETE", "/api/v1/me"),
    ("POST", "/logout"),
    ("POST", "/account/delete"),  # with the password: the walker's account is scheduled for deletion, at the end
)
# Ids that must not be the walkers' own: their session (revoking it would end the walk), a data request (what a
# viewer may do to one depends on whose it is, checked on the body).
NOT_OURS = {"session_id": "ses_x", "request_id": "dsr_x", "breach_id": "brc_x", "token": "t" * 32, "user_id": "usr_x"}
STREAMS = {"timeout": 0}  # server-sent event feeds (the inbox's) answer and end at once instead of holding the walk
BODIES = {
    ("POST", "/api/v1/privacy/requests"): {"subject_type": "user", "right": "access"},  # a contact's: admins only
    ("POST", "/api/v1/api-keys"): {"name": "walker", "role": "viewer"},
    ("POST", "/api/v1/integrations/google/authorize"): {"service": "calendar"},
    ("POST", "/api/v1/auth/reauthenticate"): {"password": PASSWORD},
    ("POST", "/security/reauth"): {"password": PASSWORD},  # a form
    ("POST", "/account/delete"): {"password": PASSWORD},
}


def app_routes(app) -> list[tuple[str, str]]:  # noqa: ANN001
    """Every (method, path template) the application answers, HEAD aside: the API, the dashboard, webhooks, files."""
    found = set()
    for route in iter_route_contexts(app.routes):
        methods = route.methods or {"GET"}  # a mount (static files) answers GET
        path = route.path_format if route.methods else f"{route.path}/{{path}}"
        found |= {(m, path) for m in methods if m != "HEAD"}
    return sorted(found)


def test_every_route_is_in_the_matrix_and_the_matrix_has_no_stale_route() -> None:
    from jasping.app import create_app

    routes = {f"{m} {p}" for m, p in app_routes(create_app())}
    missing = sorted(routes - roles.MATRIX.keys())
    assert not missing, f"add these routes to jasping/security/roles.py MATRIX with who may call them: {missing}"
    stale = sorted(roles.MATRIX.keys() - routes)
    assert not stale, f"these routes are gone: remove them from jasping/security/roles.py MATRIX: {stale}"
    assert len(routes) > 200


def test_a_route_missing_from_the_matrix_is_refused(client, make_org, monkeypatch) -> None:
    org = make_org()
    monkeypatch.delitem(roles.MATRIX, "GET /api/v1/agents")
    for call in (lambda: client.get("/api/v1/agents", headers=org.headers), lambda: org.client.get("/api/v1/agents")):
        r = call()
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_in_role_matrix", r.text
    monkeypatch.delitem(roles.MATRIX, "GET /agents")
    assert org.client.get("/agents").status_code == 403


def _walkers(org) -> dict[str, tuple[Person, Role, bool]]:  # noqa: ANN001
    """A logged-in person per role: {name: (person, organization role, operator?)}."""
    me = org.client.get("/api/v1/auth/me").json()
    owner = Person(org.client, org.email, org.password, me["user_id"], org.id, org.client.headers["X-CSRF-Token"])
    people = {"owner": (owner, Role.owner, False)}
    for role in (Role.admin, Role.agent, Role.viewer):
        people[role.value] = (add_member(org.id, f"{role.value}@example.org", role.value), role, False)
    superadmin = add_member(org.id, "operator@example.org", "viewer")
    with session_scope() as s:
        operators.grant(s, superadmin.email)
    people["superadmin"] = (superadmin, Role.viewer, True)
    return people


def _relogin(person: Person) -> None:
    r = person.login()
    assert r.status_code == 200, r.text
    person.csrf = r.json()["csrf_token"]
    person.client.headers["X-CSRF-Token"] = person.csrf


def _call(person: Person, method: str, path: str, url: str):  # noqa: ANN202
    if url.startswith("/api/"):
        body = BODIES.get((method, path), _body(method, url))
        return person.client.request(method, url, json=body, params=QUERY | STREAMS, follow_redirects=False)
    data = {"csrf_token": person.csrf} | BODIES.get((method, path), {}) if method == "POST" else None
    return person.client.request(method, url, data=data, follow_redirects=False)


def test_every_route_answers_each_role_as_the_matrix_says(client, make_org) -> None:
    org = make_org()
    ids = org_objects(client, org) | NOT_OURS | {"type_": "webhook", "code": "fr", "kind": "privacy", "path": "app.css"}
    ids["org_id"] = org.id
    from jasping.app import create_app

    # (a route missing from the matrix is refused to everyone: the test above names it)
    walk = [
        (m, p) for m, p in app_routes(create_app()) if roles.MATRIX.get(f"{m} {p}", roles.PUBLIC) is not roles.PUBLIC
    ]
    walk = [r for r in walk if r not in ENDS_SESSION] + list(ENDS_SESSION)
    denied: dict[str, set[tuple[str, str]]] = {}
    walkers = _walkers(org)
    checked = 0
    # Lowest first, so that what an owner deletes at the end was there for everyone else.
    for name, (person, role, operator) in reversed(walkers.items()):
        for method, path in walk:
            needed = roles.MATRIX[f"{method} {path}"]
            url = path.format(**{p: ids.get(p, f"{p}_x") for p in re.findall(r"{(\w+)}", path)})
            if (method, path) in ENDS_SESSION:
                _relogin(person)
            r = _call(person, method, path, url)
            where = f"{name}: {method} {url} ({needed.value}) → {r.status_code} {r.text[:300]}"
            if roles.allows(needed, role=role, operator=operator):
                assert r.status_code not in (401, 403), where
            else:
                assert r.status_code == 403, where
                if url.startswith("/api/"):
                    assert r.json()["error"]["code"] in ("forbidden", "operator_only"), where
                denied.setdefault(person.user_id, set()).add((method, url))
            checked += 1
    assert checked > 800
    assert len(denied) == 5  # the owner too: the operator's pages are not an organization's
    # The denials went to the security log (at most 30 a minute per caller are recorded: a flood cannot flood it).
    with open_session() as s:
        rows = s.execute(select(AuditEvent).where(AuditEvent.action == "access.denied")).scalars().all()
    logged: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        detail = json.loads(row.detail)
        logged.setdefault(row.actor_id, set()).add((detail["method"], detail["path"]))
    for user_id, refused in denied.items():
        assert logged.get(user_id), f"no access.denied recorded for {user_id}"
        assert logged[user_id] <= refused, logged[user_id] - refused
        assert len(logged[user_id]) >= min(len(refused), 20)
