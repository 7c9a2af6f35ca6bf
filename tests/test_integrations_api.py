"""`/api/v1/integrations`: one registry for every type — checked bodies, encrypted secrets never returned, values
made here shown once, the agent's organization enforced, roles, disconnect hooks."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from jasping.db import get_engine
from jasping.integrations import service
from jasping.integrations.service import Kind, Prepared

disconnected: list[str] = []


class _EchoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://")
    password: str = Field(min_length=4)


@pytest.fixture(autouse=True)
def echo_kind():
    kind = service.register(
        Kind(
            "echo",
            _EchoIn,
            secrets=("password",),
            prepare=lambda _s, d: Prepared(
                {"url": d.url}, {"password": d.password, "made": "s3cr3t"}, {"made": "s3cr3t"}
            ),
            on_disconnect=lambda _s, i: disconnected.append(i.id),
            description="a test type",
        )
    )
    yield kind
    service._KINDS.pop("echo", None)


def _agent(org) -> str:
    r = org.post("/api/v1/agents", json={"name": "Front desk"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_connect_list_get_disconnect(make_org, db_url) -> None:
    org = make_org()
    agent_id = _agent(org)
    r = org.post(
        "/api/v1/integrations",
        json={"type": "echo", "agent_id": agent_id, "name": "Mine", "url": "https://x.test", "password": "hunter22"},
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["settings"] == {"url": "https://x.test"} and made["secrets"] == ["made", "password"]
    assert made["shown_once"] == {"made": "s3cr3t"} and made["status"] == "active" and made["name"] == "Mine"
    assert "hunter22" not in r.text.replace('"shown_once"', "")

    listed = org.get("/api/v1/integrations", params={"agent_id": agent_id}).json()["integrations"]
    assert [i["id"] for i in listed] == [made["id"]] and listed[0]["shown_once"] is None
    assert "hunter22" not in org.get(f"/api/v1/integrations/{made['id']}").text
    with get_engine(db_url).connect() as conn:
        stored = conn.execute(text("SELECT secrets_json FROM integrations")).scalar()
    assert "hunter22" not in stored and "s3cr3t" not in stored  # encrypted at rest

    assert org.client.delete(f"/api/v1/integrations/{made['id']}", headers=org.headers).status_code == 204
    assert disconnected[-1] == made["id"]
    assert org.get(f"/api/v1/integrations/{made['id']}").status_code == 404


def test_bad_bodies_are_clear_422s(make_org) -> None:
    org = make_org()
    agent_id = _agent(org)
    unknown = org.post("/api/v1/integrations", json={"type": "fax", "agent_id": agent_id})
    assert unknown.status_code == 422 and "echo" in unknown.json()["error"]["message"]
    no_agent = org.post("/api/v1/integrations", json={"type": "echo", "url": "https://x.test", "password": "abcd"})
    assert no_agent.status_code == 422 and "agent_id" in no_agent.json()["error"]["message"]
    bad = org.post("/api/v1/integrations", json={"type": "echo", "agent_id": agent_id, "url": "ftp://x", "password": 1})
    assert bad.status_code == 422 and "url" in bad.json()["error"]["message"]
    extra = org.post(
        "/api/v1/integrations",
        json={"type": "echo", "agent_id": agent_id, "url": "https://x.test", "password": "abcd", "oops": 1},
    )
    assert extra.status_code == 422 and "oops" in extra.json()["error"]["message"]
    broken = org.client.post(
        "/api/v1/integrations", content=b"{not json", headers={**org.headers, "Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert org.get("/api/v1/integrations").json()["integrations"] == []  # nothing half-written


def test_other_organizations_and_roles(make_org) -> None:
    alice, bob = make_org("Alice"), make_org("Bob")
    agent_id = _agent(alice)
    body = {"type": "echo", "agent_id": agent_id, "url": "https://x.test", "password": "abcd"}
    assert bob.post("/api/v1/integrations", json=body).status_code == 404  # not Bob's agent
    made = alice.post("/api/v1/integrations", json=body).json()
    assert bob.get(f"/api/v1/integrations/{made['id']}").status_code == 404
    assert bob.client.delete(f"/api/v1/integrations/{made['id']}", headers=bob.headers).status_code == 404
    viewer = alice.post("/api/v1/api-keys", json={"name": "read", "role": "viewer"}).json()["secret"]
    headers = {"Authorization": f"Bearer {viewer}"}
    assert alice.client.post("/api/v1/integrations", json=body, headers=headers).status_code == 403
    assert alice.client.get("/api/v1/integrations", headers=headers).status_code == 200
    types = alice.get("/api/v1/integrations/types").json()["types"]
    echo = next(t for t in types if t["type"] == "echo")
    assert echo["needs_agent"] and "url" in echo["settings_schema"]["properties"]
