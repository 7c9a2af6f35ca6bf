"""The data map declares every table and column holding personal data (DESIGN principle 3); retention covers it."""

from __future__ import annotations

import re

from jasping.crypto import EncryptedText
from jasping.models import Base
from jasping.privacy import data_map, retention, retention_rules
from jasping.privacy.data_map import DATA_MAP, NOT_PERSONAL_COLUMNS, NOT_PERSONAL_TABLES

# Column names that usually hold personal data (whole words of a snake_case name).
PERSONAL_LOOKING = re.compile(
    r"(^|_)(email|phone|name|names|text|body|ip|address|to|contact|user|actor|token|secret|secrets|detail|custom"
    r"|meta|flow|consent)(_|$)"
)


def _mapped() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for entry in DATA_MAP:
        out.setdefault(entry.table, set()).update(entry.columns)
    return out


def test_every_table_is_in_the_data_map_or_declared_not_personal() -> None:
    mapped = _mapped()
    for table in Base.metadata.tables:
        assert (table in mapped) != (table in NOT_PERSONAL_TABLES), (
            f"declare {table} in privacy/data_map.py: in DATA_MAP, or in NOT_PERSONAL_TABLES with the reason"
        )


def test_every_personal_looking_or_encrypted_column_is_mapped_or_declared_not_personal() -> None:
    mapped = _mapped()
    missing = []
    for table in Base.metadata.tables.values():
        for column in table.c:
            suspect = isinstance(column.type, EncryptedText) or PERSONAL_LOOKING.search(column.name)
            if not suspect or column.name in mapped.get(table.name, ()):
                continue
            if (table.name, column.name) in NOT_PERSONAL_COLUMNS:
                continue
            if table.name in NOT_PERSONAL_TABLES and not isinstance(column.type, EncryptedText):
                continue
            missing.append(f"{table.name}.{column.name}")
    assert missing == [], f"personal-looking columns neither in the data map nor declared not personal: {missing}"


def test_every_declared_column_exists() -> None:
    tables = Base.metadata.tables
    declared = [(e.table, c) for e in DATA_MAP for c in e.columns] + list(NOT_PERSONAL_COLUMNS)
    for table, column in declared:
        assert table in tables and column in tables[table].c, f"{table}.{column} is declared but does not exist"
    for table in NOT_PERSONAL_TABLES:
        assert table in tables, f"{table} is declared not personal but does not exist"


def test_entries_use_the_known_subjects_categories_and_erasures() -> None:
    for e in DATA_MAP:
        assert e.subject in data_map.SUBJECTS and e.category in data_map.CATEGORIES and e.erasure in data_map.ERASURES
        assert e.columns and e.retention and e.purpose, e
    keys = [(e.table, e.rows) for e in DATA_MAP]
    assert len(keys) == len(set(keys)), "one entry per table (or per `rows` of a table)"


def test_encrypted_columns_are_personal_data() -> None:
    """What was worth encrypting is declared: encrypted columns in the map, or a reason in NOT_PERSONAL_COLUMNS."""
    mapped = _mapped()
    for table in Base.metadata.tables.values():
        for column in table.c:
            if isinstance(column.type, EncryptedText):
                assert column.name in mapped.get(table.name, ()) or (table.name, column.name) in NOT_PERSONAL_COLUMNS


def test_every_mapped_table_has_a_retention_rule_or_a_reason() -> None:
    ruled = {r.table for r in retention.RULES}
    for table in data_map.tables():
        assert (table in ruled) != (table in retention_rules.NO_RULE), (
            f"{table}: give it a retention rule (privacy/retention_rules.py) or say in NO_RULE why it has none"
        )
    categories = {(r.table, r.category) for r in retention.RULES}
    for e in DATA_MAP:
        if e.table in ruled:
            assert (e.table, e.category) in categories, f"{e.table} ({e.category}) has no rule of its category"


def test_the_record_of_processing_is_published(client, make_org) -> None:
    org = make_org()
    r = org.get("/api/v1/privacy/record-of-processing")
    assert r.status_code == 200, r.text
    body = r.json()
    tables = {e["table"] for e in body["entries"]}
    assert set(data_map.tables()) == tables
    messages = next(e for e in body["entries"] if e["table"] == "messages")
    assert messages["subject"] == "contact" and messages["category"] == "conversation"
    assert messages["encrypted_columns"] == ["text"]
    assert body["conversation_retention_days"] is None
    assert {
        "category": "cookie_consent",
        "data": "cookie and chat-notice consent records",
        "retention": "6 months",
        "after": "erased",
    } in body["retention"]
    anonymous = client.get("/api/v1/privacy/record-of-processing")
    assert anonymous.status_code == 401


def test_the_record_of_processing_page(client, make_org) -> None:
    org = make_org()
    page = org.client.get("/privacy/record")
    assert page.status_code == 200
    assert "conversation_files" in page.text and "cookie_consent" in page.text
    org.client.cookies.set("jasping_lang", "fr")
    fr = org.client.get("/privacy/record")
    assert "Registre des traitements" in fr.text
