"""Rules the schema keeps: tenant tables carry org_id and are scoped; migrations match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from jasping.crypto import EncryptedText
from jasping.db import TenantScoped, get_engine
from jasping.models import Base

# Tables that are not owned by one organization, each with the reason.
PLATFORM_TABLES = {
    "organizations": "the tenants themselves",
    "users": "accounts; a user may belong to several organizations",
    "data_keys": "encryption keys, one scope per organization or the platform",
    "audit_events": "security log; outlives organizations; carries org_id without a foreign key",
    "audit_checkpoints": "audit chain anchors",
    "login_sessions": "a user's browser session",
    "mfa_factors": "a user's second factors (accounts are not an organization's)",
    "mfa_recovery_codes": "a user's recovery codes",
    "auth_challenges": "a user's log-in, SMS and password-reset challenges in progress",
    "org_security_policies": "one row per organization, keyed by org_id (read before the session is scoped)",
    "job_runs": "the periodic schedule",
    "invoices": "billing records kept 10 years, also after their organization is erased (org_id set to NULL)",
    "stripe_events": "Stripe events received once, before their organization is known",
    "account_deletions": "an account's deletion request (accounts are not an organization's)",
    "account_consents": "an account holder's marketing consent (JasPing is controller)",
    "data_requests": "data-subject requests of users (no organization) and of contacts (org_id set, filtered by hand)",
    "platform_operators": "the people who run the platform (not a role in an organization)",
    "legal_pages": "the operator's public pages, and agents' notices (org_id set; read publicly by the agent's key)",
    "breaches": "the operator's breach register (one breach may affect many organizations)",
    "breach_organizations": "the businesses a breach affected; written by the operator, never by the organization",
    "registration_risks": "an account's sign-up risk assessment (accounts are not an organization's)",
}


def test_every_table_is_tenant_scoped_or_a_declared_platform_table() -> None:
    for mapper in Base.registry.mappers:
        cls, table = mapper.class_, mapper.local_table.name
        if table in PLATFORM_TABLES:
            assert not issubclass(cls, TenantScoped), f"{table} is declared a platform table"
            continue
        assert issubclass(cls, TenantScoped), f"{table} must inherit TenantScoped (or be declared a platform table)"
        assert "org_id" in mapper.local_table.c and mapper.local_table.c.org_id.index


def test_personal_fields_are_encrypted() -> None:
    tables = Base.metadata.tables
    for table, column in (
        ("users", "email"),
        ("users", "name"),
        ("organizations", "contact_email"),
        ("organizations", "contact_phone"),
    ):
        assert isinstance(tables[table].c[column].type, EncryptedText), f"{table}.{column} must be encrypted"


def test_migrations_match_the_models(db_url) -> None:
    with get_engine().connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == [], f"models and migrations differ; run migrate.revision(): {diff}"


def test_the_models_module_imports_every_table() -> None:
    """Migrations and workers import `jasping.models` alone: a table missing there is invisible to them."""
    import jasping.models

    mapped = {mapper.class_.__name__ for mapper in Base.registry.mappers}
    assert mapped <= set(jasping.models.__all__), (
        f"add to jasping/models.py: {sorted(mapped - set(jasping.models.__all__))}"
    )
