"""Tables in PDFs come out one row a line, "Header: value; Header: value", drawn with ruling lines or without."""

from __future__ import annotations

import io

import pytest
from fpdf import FPDF

import ingest_files as files
from jasping.knowledge.ingest import chunk_document, parse_file, pdf_tables

FONTS = "/usr/share/fonts/truetype/dejavu/"
PRICES = [
    ("Service", "Durée", "Prix"),
    ("Détartrage", "30 min", "350 MAD"),
    ("Blanchiment des dents au laser, séance complète avec gouttières", "60 min", "2500 MAD"),
    ("Consultation", "20 min", "200 MAD"),
]
DETARTRAGE = "Service: Détartrage; Durée: 30 min; Prix: 350 MAD"
BLANCHIMENT = "Service: Blanchiment des dents au laser, séance complète avec gouttières; Durée: 60 min; Prix: 2500 MAD"
BOTH = pytest.mark.parametrize("borders", ["ALL", "NONE"], ids=["ruled", "without-lines"])


def _doc() -> FPDF:
    doc = FPDF()
    doc.add_font("dejavu", "", FONTS + "DejaVuSans.ttf")
    doc.add_font("dejavu", "B", FONTS + "DejaVuSans-Bold.ttf")
    doc.add_page()
    return doc


def _heading(doc: FPDF, text: str, size: int = 18) -> None:
    doc.set_font("dejavu", "B", size)
    doc.cell(0, 10, text, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("dejavu", "", 11)


def _paragraph(doc: FPDF, text: str) -> None:
    doc.set_font("dejavu", "", 11)
    doc.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    doc.ln(3)


def _table(doc: FPDF, rows, borders: str, **options) -> None:  # noqa: ANN001
    doc.set_font("dejavu", "", 11)
    options.setdefault("col_widths", (3, 1, 1)[: max(len(row) for row in rows)])
    with doc.table(borders_layout=borders, **options) as table:
        for values in rows:
            row = table.row()
            for value in values:
                if isinstance(value, tuple):
                    row.cell(value[0], colspan=value[1])
                else:
                    row.cell(value)
    doc.ln(4)


def _price_list(borders: str) -> bytes:
    doc = _doc()
    _heading(doc, "Clinique Atlas")
    _paragraph(doc, "Bienvenue à la clinique dentaire Atlas, à Casablanca.")
    _heading(doc, "Nos tarifs", 14)
    _paragraph(doc, "Voici nos prix pour les soins courants, en dirhams.")
    _table(doc, PRICES, borders)
    _paragraph(doc, "Le paiement se fait à la fin du soin, par carte ou en espèces.")
    _heading(doc, "Rendez-vous", 14)
    _paragraph(doc, "Prenez rendez-vous par téléphone ou sur notre site.")
    return bytes(doc.output())


def _lines(doc) -> list[str]:  # noqa: ANN001
    return [line for block in doc.blocks for line in block.text.splitlines()]


@BOTH
def test_price_list_rows_are_one_line_each_with_their_header(borders) -> None:
    doc = parse_file(_price_list(borders), "tarifs.pdf")
    (table,) = [b for b in doc.blocks if b.kind == "table"]
    assert table.text.splitlines() == [DETARTRAGE, BLANCHIMENT, "Service: Consultation; Durée: 20 min; Prix: 200 MAD"]
    assert table.page == 1
    chunks = chunk_document(doc)
    assert any(DETARTRAGE in chunk.text.splitlines() for chunk in chunks)
    assert any(BLANCHIMENT in chunk.text.splitlines() for chunk in chunks)  # a cell wrapped over two lines


@BOTH
def test_table_keeps_its_heading_path_and_the_text_around_it_once(borders) -> None:
    doc = parse_file(_price_list(borders), "tarifs.pdf")
    kinds = [(b.kind, b.heading_path) for b in doc.blocks]
    table_at = kinds.index(("table", ("Clinique Atlas", "Nos tarifs")))
    assert doc.blocks[table_at - 1].text == "Voici nos prix pour les soins courants, en dirhams."
    assert doc.blocks[table_at + 1].text == "Le paiement se fait à la fin du soin, par carte ou en espèces."
    assert doc.blocks[table_at + 2].kind == "heading" and doc.blocks[table_at + 2].text == "Rendez-vous"
    text = doc.text
    for once in ("Détartrage", "350 MAD", "gouttières", "en dirhams", "par carte", "Prenez rendez-vous"):
        assert text.count(once) == 1, once
    assert "laser\n" not in text and "Service Durée Prix" not in text


@BOTH
@pytest.mark.parametrize("repeat", [1, 0], ids=["header-repeated", "header-once"])
def test_table_over_two_pages_is_one_table_with_one_header(borders, repeat) -> None:
    doc = _doc()
    _heading(doc, "Tarifs")
    rows = [("Service", "Durée", "Prix")] + [(f"Soin numéro {i}", f"{i} min", f"{i * 10} MAD") for i in range(1, 46)]
    _table(doc, rows, borders, repeat_headings=repeat)
    _paragraph(doc, "Fin de la liste.")
    parsed = parse_file(bytes(doc.output()), "tarifs.pdf")
    tables = [b for b in parsed.blocks if b.kind == "table"]
    assert [t.page for t in tables] == [1, 2]
    lines = [line for t in tables for line in t.text.splitlines()]
    assert lines == [f"Service: Soin numéro {i}; Durée: {i} min; Prix: {i * 10} MAD" for i in range(1, 46)]
    assert all(t.heading_path == ("Tarifs",) for t in tables)
    assert parsed.text.count("Fin de la liste.") == 1


@BOTH
def test_empty_first_cell_means_same_as_above_and_merged_header_cells_are_joined(borders) -> None:
    doc = _doc()
    rows = [
        ("Service", ("Tarif", 2)),
        ("", "Adulte", "Enfant"),
        ("Détartrage", "350 MAD", "200 MAD"),
        ("", "400 MAD", "250 MAD"),
        ("Consultation", "200 MAD", "100 MAD"),
        ("Radiographie", "150 MAD", "100 MAD"),
    ]
    _table(doc, rows, borders)
    lines = _lines(parse_file(bytes(doc.output()), "tarifs.pdf"))
    assert lines[:2] == [
        "Service: Détartrage; Tarif Adulte: 350 MAD; Tarif Enfant: 200 MAD",
        "Service: Détartrage; Tarif Adulte: 400 MAD; Tarif Enfant: 250 MAD",
    ]
    assert "Service: Radiographie; Tarif Adulte: 150 MAD; Tarif Enfant: 100 MAD" in lines


@BOTH
def test_two_column_table_with_a_wrapped_value(borders) -> None:
    doc = _doc()
    _heading(doc, "Horaires")
    rows = [
        ("Jour", "Heures"),
        ("Lundi", "9h - 18h"),
        ("Mercredi", "9h - 13h"),
        ("Samedi", "9h - 12h, sur rendez-vous uniquement, pour les urgences et les contrôles de suivi"),
    ]
    _table(doc, rows, borders, col_widths=(1, 2))
    lines = _lines(parse_file(bytes(doc.output()), "horaires.pdf"))
    assert "Jour: Lundi; Heures: 9h - 18h" in lines
    assert (
        "Jour: Samedi; Heures: 9h - 12h, sur rendez-vous uniquement, pour les urgences et les contrôles de suivi"
        in lines
    )


def test_prose_stays_prose() -> None:
    doc = parse_file(files.pdf([[("h1", "About us"), ("p", files.LOREM_EN * 3), ("p", files.LOREM_FR * 2)]]), "a.pdf")
    assert not [b for b in doc.blocks if b.kind == "table"]
    assert "organic flour" in doc.text


def test_a_failing_table_step_keeps_the_page_text(monkeypatch) -> None:
    def broken(page):  # noqa: ANN001, ANN202
        raise RuntimeError("boom")

    monkeypatch.setattr(pdf_tables, "ruled_tables", broken)
    doc = parse_file(_price_list("ALL"), "tarifs.pdf")
    assert not [b for b in doc.blocks if b.kind == "table"]
    assert "350 MAD" in doc.text and "Détartrage" in doc.text and "Prenez rendez-vous" in doc.text


def test_pages_beyond_the_budget_stay_plain_text(monkeypatch) -> None:
    monkeypatch.setattr(pdf_tables, "MAX_TABLE_PAGES", 0)
    doc = parse_file(_price_list("ALL"), "tarifs.pdf")
    assert not [b for b in doc.blocks if b.kind == "table"] and "350 MAD" in doc.text


@pytest.fixture
def agent(make_org):  # noqa: ANN001, ANN201
    org = make_org("Atlas")
    created = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["fr"]}).json()
    return org, created["id"]


def test_uploaded_pdf_price_list_is_stored_one_row_a_line(agent) -> None:
    org, agent_id = agent
    upload = {"file": ("tarifs.pdf", io.BytesIO(_price_list("NONE")), "application/pdf")}
    r = org.post(f"/api/v1/agents/{agent_id}/sources", files=upload)
    assert r.status_code == 202, r.text
    chunks = org.get(f"/api/v1/agents/{agent_id}/sources/{r.json()['id']}/chunks").json()["chunks"]
    table = [c for c in chunks if DETARTRAGE in c["text"].splitlines()]
    assert table and table[0]["heading_path"] == ["Clinique Atlas", "Nos tarifs"] and table[0]["page"] == 1
    # each row is a chunk of its own, under the table's heading (a question about one row finds that row)
    assert table[0]["text"] == DETARTRAGE
    other = [c for c in chunks if c["text"] == BLANCHIMENT]
    assert other and other[0]["heading_path"] == ["Clinique Atlas", "Nos tarifs"] and other[0]["page"] == 1
    hits = org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "combien coûte le détartrage ?"}).json()
    assert DETARTRAGE in hits["results"][0]["text"]
