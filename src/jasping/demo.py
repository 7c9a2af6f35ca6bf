"""The demo workspace of `make run`: an imaginary dental clinic in Casablanca (idempotent)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from jasping import clock
from jasping.agents.models import Agent
from jasping.agents.schemas import AgentCreate
from jasping.agents.service import create_agent
from jasping.db import session_scope
from jasping.security.audit import SYSTEM
from jasping.tenancy import service as tenancy
from jasping.tenancy.models import ApiKey, Organization

DEMO_EMAIL = "demo@jasping.test"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - a local demo account only; documented in the README
DEMO_ORG = "Clinique Dentaire Atlas"
DEMO_AGENT = AgentCreate(
    name="Amal",
    languages=["fr", "en", "ar"],
    instructions=(
        "You are Amal, the receptionist of Clinique Dentaire Atlas in Casablanca. Answer from the clinic's "
        "documents only, briefly and warmly, in the patient's language. Offer to book a consultation or to "
        "have the team call back. Never give a diagnosis."
    ),
    greeting="Bonjour ! Je suis Amal, de la Clinique Dentaire Atlas. Comment puis-je vous aider ? / "
    "Hello! I'm Amal from Atlas Dental Clinic. How can I help?",
)

# The clinic's appointments (the builtin calendar): the hours of its documents, in Africa/Casablanca.
DEMO_BOOKING = {
    "services": [
        {"id": "consultation", "name": "Consultation", "duration_min": 30, "buffer_min": 10},
        {"id": "detartrage", "name": "Détartrage / Scaling", "duration_min": 45, "buffer_min": 15},
        {"id": "controle", "name": "Contrôle / Check-up", "duration_min": 20, "buffer_min": 10},
    ],
    "hours": {day: [["09:00", "19:00"]] for day in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [["09:00", "13:00"]]},
}

CONTENT = Path(__file__).parent / "demo_content"


def _ensure_knowledge(org_id: str, agent_id: str) -> None:
    """The clinic's documents (French and English), ingested now when the agent has none."""
    from jasping.knowledge import service as knowledge
    from jasping.knowledge.ingestion import ingest
    from jasping.knowledge.models import Source

    with session_scope(org_id) as s:
        if s.execute(select(Source.id).where(Source.agent_id == agent_id).limit(1)).first():
            return
        ids = [
            knowledge.add_file(
                s,
                agent_id=agent_id,
                filename=path.name,
                data=path.read_bytes(),
                content_type="text/markdown",
                actor=SYSTEM,
                enqueue=False,
            ).id
            for path in sorted(CONTENT.glob("*.md"))
        ]
    for source_id in ids:
        ingest(org_id, source_id)


def ensure_demo(*, fresh_api_key: bool = False) -> dict:
    """Create the demo account, organization and agent if they are absent; return their ids."""
    with session_scope() as s:
        user = tenancy.find_user_by_email(s, DEMO_EMAIL)
        if user is None:
            user = tenancy.create_user(s, email=DEMO_EMAIL, password=DEMO_PASSWORD, name="Demo", locale="fr")
        orgs = [o for _, o in tenancy.memberships(s, user.id) if o.name == DEMO_ORG]
        org = (
            orgs[0]
            if orgs
            else tenancy.create_organization(
                s,
                name=DEMO_ORG,
                owner=user,
                actor=SYSTEM,
                country="MA",
                timezone="Africa/Casablanca",
                default_language="fr",
            )
        )
        if not orgs:
            org.contact_email, org.contact_phone = "accueil@clinique-atlas.example", "+212522000000"
        org_id = org.id
    with session_scope(org_id) as s:
        agent = s.execute(select(Agent).where(Agent.name == DEMO_AGENT.name)).scalar()
        if agent is None:
            agent = create_agent(s, agent_in=DEMO_AGENT, actor=SYSTEM)
            agent.booking = DEMO_BOOKING
        secret = None
        demo_keys = s.execute(select(ApiKey).where(ApiKey.name == "demo", ApiKey.revoked_at.is_(None))).scalars().all()
        if fresh_api_key or not demo_keys:
            for key in demo_keys:
                key.revoked_at = clock.now()
            secret = tenancy.create_api_key(s, org_id=org_id, name="demo", actor=SYSTEM).secret
        org_name = s.get(Organization, org_id).name
        agent_id = agent.id
    _ensure_knowledge(org_id, agent_id)
    with session_scope(org_id) as s:
        agent = s.get(Agent, agent_id)
        return {
            "org_id": org_id,
            "org_name": org_name,
            "agent_id": agent.id,
            "agent_public_key": agent.public_key,
            "email": DEMO_EMAIL,
            "password": DEMO_PASSWORD,
            "api_key": secret,
        }


def demo_public_key() -> str | None:
    """The demo agent's public key, if the demo workspace exists."""
    with session_scope(write=False) as s:
        user = tenancy.find_user_by_email(s, DEMO_EMAIL)
        if user is None:
            return None
        org_ids = [o.id for _, o in tenancy.memberships(s, user.id) if o.name == DEMO_ORG]
    if not org_ids:
        return None
    with session_scope(org_ids[0], write=False) as s:
        return s.execute(select(Agent.public_key).where(Agent.name == DEMO_AGENT.name)).scalar()
