"""Each supported format parses to the text, headings, pages, Q&A pairs and language a user expects."""

from __future__ import annotations

import codecs

import pytest

import ingest_files as files
from jasping.knowledge.ingest import chunk_document, detect_language, parse_file, parse_html_page, parse_qa, parse_text


def blocks_of(doc, kind):
    return [b for b in doc.blocks if b.kind == kind]


def test_pdf_keeps_page_numbers_and_heading_paths():
    pages = [
        [("h1", "Price List 2026"), ("p", files.LOREM_EN * 2), ("h2", "Pizzas"), ("p", "Margherita costs 9.50 EUR.")],
        [("h2", "Delivery"), ("p", "We deliver within 5 km. " + files.LOREM_EN)],
        [("h1", "Conditions"), ("p", "Payment is due on delivery. " + files.LOREM_EN)],
    ]
    doc = parse_file(files.pdf(pages, title="Acme prices"), "prices.pdf")
    assert doc.title == "Acme prices" and doc.pages == 3 and doc.language == "en"
    assert doc.meta["format"] == "pdf"
    by_text = {b.text.split(".")[0]: b for b in doc.blocks if b.kind == "paragraph"}
    assert by_text["Margherita costs 9"].heading_path == ("Price List 2026", "Pizzas")
    assert by_text["Margherita costs 9"].page == 1
    assert by_text["We deliver within 5 km"].heading_path == ("Price List 2026", "Delivery")
    assert by_text["We deliver within 5 km"].page == 2
    assert by_text["Payment is due on delivery"].heading_path == ("Conditions",)
    assert by_text["Payment is due on delivery"].page == 3
    # hard-wrapped lines are joined back into sentences
    assert (
        "organic flour from local farms. Orders placed"
        in by_text["Our bakery opens every day at seven in the morning"].text
    )


def test_pdf_heading_wrapped_over_two_lines_is_one_heading():
    title = "Complete price list of our bakery and pastry shop for the whole 2026 season"
    doc = parse_file(files.pdf([[("h1", title), ("p", files.LOREM_EN)]]), "long-title.pdf")
    assert doc.blocks[0].kind == "heading" and doc.blocks[0].text == title
    assert doc.blocks[1].heading_path == (title,)


def test_pdf_table_rows_stay_on_their_own_lines_with_their_header():
    doc = parse_file(files.pdf_table([("Pizza", "Price"), ("Margherita", "9.50"), ("Regina", "11.00")]), "menu.pdf")
    lines = doc.text.splitlines()
    assert "Pizza: Margherita; Price: 9.50" in lines and "Pizza: Regina; Price: 11.00" in lines
    assert doc.blocks[0].kind == "heading" and doc.blocks[0].text == "Price list"


def test_pdf_with_only_an_owner_password_is_read():
    plain = files.pdf([[("h1", "Open"), ("p", files.LOREM_EN)]])
    doc = parse_file(files.encrypted_pdf(plain, open_with=""), "protected.pdf")
    assert "organic flour" in doc.text


def test_pdf_headings_from_capitals_and_numbering_when_fonts_are_uniform():
    lines = ["OPENING HOURS", files.LOREM_EN, "2.1 Delivery Area", "We deliver within 5 km of the shop."]
    doc = parse_file(files.pdf([[("p", line) for line in lines]]), "flat.pdf")
    delivery = next(b for b in doc.blocks if b.text.startswith("We deliver"))
    assert delivery.heading_path == ("OPENING HOURS", "2.1 Delivery Area")


def test_docx_headings_lists_and_tables():
    doc = parse_file(files.word(), "handbook.docx")
    assert doc.title == "Bakery handbook" and doc.language == "en"
    assert [b.text for b in blocks_of(doc, "heading")] == ["Services", "Delivery", "Prices"]
    (items,) = blocks_of(doc, "list")
    assert items.text == "- Monday to Friday\n- Saturday morning\n- Never on Sunday"
    assert items.heading_path == ("Services", "Delivery")
    (table,) = blocks_of(doc, "table")
    assert table.heading_path == ("Prices",)
    assert table.text.splitlines() == [
        "Product: Baguette; Price: 1.20 EUR; Unit: piece",
        "Product: Croissant; Price: 1.10 EUR; Unit: piece",
    ]
    assert doc.blocks[0].text == "Intro before any heading." and doc.blocks[0].heading_path == ()


def test_docx_named_xlsx_is_read_by_its_content():
    assert parse_file(files.word(), "handbook.xlsx").meta["format"] == "docx"


def test_xlsx_faq_sheet_gives_one_chunk_per_question_and_price_rows_as_tables():
    doc = parse_file(files.workbook(), "faq.xlsx")
    qa = blocks_of(doc, "qa")
    assert [b.text for b in qa] == [
        "Q: Do you deliver?\nA: Yes, within 5 km, every day.",
        "Q: Are you open on Sunday?\nA: No, we are closed on Sunday.",
        "Q: Do you bake gluten-free bread?\nA: Yes, on Tuesdays and Fridays.",
    ]
    assert all(b.heading_path == ("FAQ",) for b in qa)
    rows = [b.text for b in blocks_of(doc, "table")]
    # the formula cell has no cached value: it is left out, not shown as "=B2*2" or "None"
    assert rows == ["Product: Baguette; Price: 1.2; Unit: piece", "Product: Croissant; Price: 1.1; Unit: piece",
                    "Product: Cake; Price: 18; Unit: whole"]  # fmt: skip
    assert "secret margin" not in doc.text  # hidden sheet
    chunks = chunk_document(doc)
    assert [c.text for c in chunks if c.heading_path == ("FAQ",)] == [b.text for b in qa]


@pytest.mark.parametrize(
    "header",
    [("Question", "Answer"), ("Q", "R"), ("question", "réponse"), ("سؤال", "جواب"), ("Questions:", "Réponses"), None],
)
def test_two_column_sheets_are_questions_and_answers(header):
    rows = [("Livrez-vous le dimanche ?", "Non, du lundi au samedi."), ("Quel est le prix ?", "Dix euros.")]
    doc = parse_file(files.qa_sheet(header, rows), "faq.xlsx")
    assert [b.text for b in doc.blocks] == [
        "Q: Livrez-vous le dimanche ?\nA: Non, du lundi au samedi.",
        "Q: Quel est le prix ?\nA: Dix euros.",
    ]
    assert all(b.kind == "qa" for b in doc.blocks)


CSV_TEXT = (
    "Question;Réponse\nLivrez-vous à Paris ?;Oui, en 24 heures.\nAcceptez-vous les chèques ?;Non, carte ou espèces.\n"
)


@pytest.mark.parametrize(
    "encoded",
    [
        codecs.BOM_UTF8 + CSV_TEXT.encode("utf-8"),
        CSV_TEXT.encode("utf-16"),  # with BOM
        CSV_TEXT.encode("utf-16-le"),  # without BOM
        CSV_TEXT.encode("latin-1"),
        CSV_TEXT.replace("\n", "\r\n").encode("cp1252"),
    ],
    ids=["utf8-bom", "utf16", "utf16-le-no-bom", "latin1", "cp1252-crlf"],
)
def test_csv_encodings_and_dialect(encoded):
    doc = parse_file(encoded, "faq.csv")
    assert [b.text for b in doc.blocks] == [
        "Q: Livrez-vous à Paris ?\nA: Oui, en 24 heures.",
        "Q: Acceptez-vous les chèques ?\nA: Non, carte ou espèces.",
    ]


def test_csv_table_rows_use_headers():
    doc = parse_file(b"Product,Price,Stock\nBaguette,1.20,yes\nCake,18.00,no\n", "prices.csv")
    assert [b.text for b in doc.blocks] == [
        "Product: Baguette; Price: 1.20; Stock: yes",
        "Product: Cake; Price: 18.00; Stock: no",
    ]


def test_html_keeps_main_content_and_drops_boilerplate():
    doc = parse_file(files.HTML_PAGE.encode(), "home.html")
    text = doc.text
    for secret in ("SCRIPT_SECRET", "STYLE_SECRET", "NAV_SECRET", "COOKIE_SECRET", "FORM_SECRET", "FOOTER_SECRET",
                   "HEADER_LINK", "RELATED_SECRET", "Read also"):  # fmt: skip
        assert secret not in text
    assert doc.title == "Acme Bakery" and doc.language == "en"
    hours = next(b for b in doc.blocks if b.text.startswith("Monday to Friday"))
    assert hours.heading_path == ("Welcome to Acme Bakery", "Opening hours")
    (table,) = blocks_of(doc, "table")
    assert table.text == "Product: Baguette; Price: 1.20 EUR\nProduct: Croissant; Price: 1.10 EUR"
    (items,) = blocks_of(doc, "list")
    assert items.heading_path[-1] == "Delivery" and "- Same day before noon" in items.text
    # collapsed accordion answers are content; adjacent spans do not run together
    assert "Can I pay by card?\n\nYes, all cards." in text and "Birthday cakes Order two days ahead." in text


def test_crawled_page_keeps_its_url_and_honours_declared_charset():
    html = "<html><head><title>Tarifs</title></head><body><h1>Nos tarifs</h1><p>Café crème : 2 €.</p></body></html>"
    doc = parse_html_page(
        html.encode("cp1252"), "https://shop.example/tarifs", content_type="text/html; charset=cp1252"
    )
    assert doc.url == "https://shop.example/tarifs" and doc.title == "Tarifs"
    assert "Café crème : 2 €." in doc.text


def test_markdown_headings_lists_tables_and_code():
    doc = parse_file(files.MARKDOWN.encode(), "menu.md")
    assert doc.title == "Price list"
    assert [b.heading_path for b in blocks_of(doc, "heading")] == [
        ("Price list",),
        ("Price list", "Pizzas"),
        ("Price list", "Pizzas", "Opening hours"),
        ("Price list", "Drinks"),
    ]
    (table,) = blocks_of(doc, "table")
    assert table.text == "Drink: Water; Price: 1.50 EUR\nDrink: Juice; Price: 3.00 EUR"
    assert any(b.text == "# not a heading inside code" for b in doc.blocks)


def test_french_text_file_in_cp1252():
    text = "Horaires d'ouverture\n\n" + files.LOREM_FR + "\n\nLivraison gratuite à partir de 20 €."
    doc = parse_file(text.encode("cp1252"), "infos.txt")
    assert doc.language == "fr" and doc.title == "infos"
    assert "Livraison gratuite à partir de 20 €." in doc.text


def test_arabic_text_file_right_to_left():
    doc = parse_file(("\ufeff" + files.ARABIC + "\n\n" + files.ARABIC).encode("utf-8"), "faq-ar.txt")
    assert doc.language == "ar"
    assert "هل تقومون بالتوصيل؟" in doc.text
    assert all(c.language == "ar" for c in chunk_document(doc))


def test_typed_text_and_qa_sources():
    doc = parse_text("Horaires", "# Ouverture\n\n" + files.LOREM_FR)
    assert doc.title == "Horaires" and doc.language == "fr" and doc.blocks[-1].heading_path == ("Ouverture",)
    qa = parse_qa("Livrez-vous le dimanche ?", "Non, nous livrons du lundi au samedi, avant midi.")
    assert qa.blocks[0].kind == "qa" and qa.blocks[0].text.startswith("Q: Livrez-vous")
    assert qa.language == "fr"


@pytest.mark.parametrize(
    ("text", "code"),
    [(files.LOREM_EN, "en"), (files.LOREM_FR, "fr"), (files.ARABIC, "ar"), ("ok", None), ("12 345 €", None)],
)
def test_detect_language(text, code):
    assert detect_language(text) == code
