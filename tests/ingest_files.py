"""Build the documents the ingestion tests read, in memory: nothing binary is committed."""

from __future__ import annotations

import io
import zipfile

import docx
import openpyxl
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

LOREM_EN = (
    "Our bakery opens every day at seven in the morning. We bake bread with organic flour from local farms. "
    "Orders placed before noon are delivered the same afternoon. Large orders for events need two days of notice. "
)
LOREM_FR = (
    "Notre boulangerie ouvre tous les jours à sept heures du matin. Nous cuisons le pain avec une farine "
    "biologique des fermes voisines. Les commandes passées avant midi sont livrées l'après-midi même. "
)
ARABIC = (
    "مرحبا بكم في مخبزنا. نفتح أبوابنا كل يوم على الساعة السابعة صباحا. "
    "هل تقومون بالتوصيل؟ نعم، نوصل الطلبات داخل المدينة مجانا، والطلبات الكبيرة تحتاج إلى يومين."
)


def pdf(pages: list[list[tuple[str, str]]], *, title: str | None = None) -> bytes:
    """A PDF; each page is a list of (style, text) with style "h1", "h2" or "p" (larger fonts for headings)."""
    doc = FPDF()
    doc.set_auto_page_break(True, margin=15)
    if title:
        doc.set_title(title)
    sizes = {"h1": ("B", 20), "h2": ("B", 15), "p": ("", 11)}
    for page in pages:
        doc.add_page()
        for style, text in page:
            weight, size = sizes[style]
            doc.set_font("helvetica", weight, size)
            doc.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
            doc.ln(2)
    return bytes(doc.output())


def pdf_table(rows: list[tuple[str, ...]]) -> bytes:
    """A one-page PDF holding a heading and a table."""
    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", "B", 18)
    doc.cell(0, 10, "Price list", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("helvetica", "", 11)
    with doc.table() as table:
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(value)
    return bytes(doc.output())


def image_only_pdf() -> bytes:
    """A PDF whose pages hold only drawn shapes: what a scan looks like to a text extractor."""
    doc = FPDF()
    for _ in range(2):
        doc.add_page()
        doc.set_fill_color(200, 30, 30)
        doc.rect(20, 20, 100, 60, style="F")
        doc.line(10, 100, 190, 250)
        doc.ellipse(60, 150, 80, 40, style="D")
    return bytes(doc.output())


def encrypted_pdf(data: bytes, *, open_with: str = "s3cret") -> bytes:
    """The PDF re-written with AES-256 encryption; open_with="" protects only editing (opens without a password)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=open_with, owner_password="owner-secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zero_page_pdf() -> bytes:
    """A well-formed PDF with no pages."""
    out = io.BytesIO()
    PdfWriter().write(out)
    return out.getvalue()


def word(*, headings: bool = True) -> bytes:
    """A Word document with a title, nested headings, a bulleted list and a table with a header row."""
    document = docx.Document()
    document.core_properties.title = "Bakery handbook"
    document.add_paragraph("Intro before any heading.")
    document.add_heading("Services", level=1)
    document.add_paragraph("We bake bread and cakes. " + LOREM_EN)
    document.add_heading("Delivery", level=2)
    document.add_paragraph("Delivery is free within 5 km.")
    for item in ("Monday to Friday", "Saturday morning", "Never on Sunday"):
        document.add_paragraph(item, style="List Bullet")
    document.add_heading("Prices", level=1)
    table = document.add_table(rows=3, cols=3)
    for r, values in enumerate(
        (("Product", "Price", "Unit"), ("Baguette", "1.20 EUR", "piece"), ("Croissant", "1.10 EUR", "piece"))
    ):
        for c, value in enumerate(values):
            table.cell(r, c).text = value
    document.add_paragraph("Prices include VAT.")
    return _save_docx(document)


def long_word(paragraphs: int) -> bytes:
    """A Word document with many paragraphs under a heading every ten paragraphs."""
    document = docx.Document()
    for i in range(paragraphs):
        if i % 10 == 0:
            document.add_heading(f"Section {i // 10 + 1}", level=1)
        document.add_paragraph(f"Paragraph {i}. " + LOREM_EN)
    return _save_docx(document)


def _save_docx(document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def workbook() -> bytes:
    """An Excel workbook: a FAQ sheet (Question/Answer), a price table, and a formula without a cached value."""
    book = openpyxl.Workbook()
    faq = book.active
    faq.title = "FAQ"
    faq.append(["Question", "Answer"])
    faq.append(["Do you deliver?", "Yes, within 5 km, every day."])
    faq.append(["Are you open on Sunday?", "No, we are closed on Sunday."])
    faq.append([None, None])
    faq.append(["Do you bake gluten-free bread?", "Yes, on Tuesdays and Fridays."])
    prices = book.create_sheet("Prices")
    prices.append(["Product", "Price", "Unit", "Total"])
    prices.append(["Baguette", 1.2, "piece", "=B2*2"])
    prices.append(["Croissant", 1.1, "piece", None])
    prices.append(["Cake", 18.0, "whole", None])
    hidden = book.create_sheet("Internal")
    hidden.append(["secret margin", "42%", "x"])
    hidden.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def qa_sheet(header: tuple[str, str] | None, rows: list[tuple[str, str]]) -> bytes:
    """A one-sheet workbook of two columns, with an optional header row."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    if header:
        sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_archive(members: dict[str, bytes], *, level: int = 9) -> bytes:
    """A ZIP archive (deflated) with the given members."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def docx_bomb(zeros: int = 50 * 1024 * 1024) -> bytes:
    """A 'DOCX' whose document.xml is megabytes of zeros compressed about 1000 to 1."""
    return zip_archive({"[Content_Types].xml": b"<Types/>", "word/document.xml": bytes(zeros)})


def nested_zip_docx(depth: int) -> bytes:
    """A 'DOCX' holding a ZIP inside a ZIP inside a ZIP ... depth levels deep."""
    inner = zip_archive({"a.txt": b"hello"})
    for i in range(depth - 1):
        inner = zip_archive({f"level{i}.zip": inner})
    return zip_archive(
        {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>", "word/embeddings/x.bin": inner}
    )


HTML_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Acme Bakery | Home</title><meta property="og:title" content="Acme Bakery">
<script>var tracking = "SCRIPT_SECRET";</script><style>.nav { color: red } STYLE_SECRET</style></head>
<body>
<header class="site-header"><a href="/">Acme</a> <a href="/shop">Shop HEADER_LINK</a></header>
<nav><ul><li><a href="/">Home</a></li><li><a href="/about">About NAV_SECRET</a></li></ul></nav>
<div id="cookie-banner" class="cookie-consent">We use cookies COOKIE_SECRET. <button>Accept all</button></div>
<main>
<h1>Welcome to Acme Bakery</h1>
<p>We bake fresh bread every morning since 1990 with organic flour from local farms.</p>
<h2>Opening hours</h2>
<p>Monday to Friday from 7am to 7pm. Saturday from 8am to 1pm. Closed on Sunday.</p>
<h2>Prices</h2>
<table><tr><th>Product</th><th>Price</th></tr>
<tr><td>Baguette</td><td>1.20 EUR</td></tr><tr><td>Croissant</td><td>1.10 EUR</td></tr></table>
<h3>Delivery</h3>
<ul><li>Free above 20 EUR</li><li>Same day before noon</li></ul>
<h2>Questions</h2>
<div class="accordion"><div class="q">Can I pay by card?</div>
<div class="a" style="display:none">Yes, all cards.</div></div>
<div class="card"><span>Birthday cakes</span><span>Order two days ahead.</span></div>
</main>
<div class="related"><h3>Read also</h3><ul><li><a href="/a">RELATED_SECRET one</a></li>
<li><a href="/b">Another post</a></li><li><a href="/c">A third post</a></li></ul></div>
<form action="/newsletter"><label>Subscribe FORM_SECRET</label><input name="email"></form>
<footer><p>Copyright 2026 Acme FOOTER_SECRET</p></footer>
</body></html>"""

MARKDOWN = """Price list
==========

Welcome to our shop. Prices include VAT.

## Pizzas

- Margherita: 9.50 EUR
- Regina: 11.00 EUR

### Opening hours

Every day from 11am to 11pm.

Drinks
------

| Drink | Price |
|-------|-------|
| Water | 1.50 EUR |
| Juice | 3.00 EUR |

```
# not a heading inside code
```
"""
