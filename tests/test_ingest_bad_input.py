"""Bad, broken and hostile files end in one clear IngestError (stable code, plain message), quickly."""

from __future__ import annotations

import pytest

import ingest_files as files
from jasping.knowledge.ingest import IngestError, ZipLimits, check_archive, parse_file, parse_html_page
from jasping.knowledge.ingest import parse as parse_module

GOOD_PDF = files.pdf([[("h1", "Hello"), ("p", files.LOREM_EN)]])


def fails_with(code: str, data: bytes, filename: str, **kwargs) -> IngestError:
    with pytest.raises(IngestError) as caught:  # how fast it fails is measured in bench/, not asserted here
        parse_file(data, filename, **kwargs)
    assert caught.value.code == code, caught.value.message
    assert caught.value.message and "Traceback" not in caught.value.message
    return caught.value


def test_too_large_names_the_limit_in_megabytes():
    error = fails_with("too_large", b"a" * (3 * 1024 * 1024), "notes.txt", max_bytes=2 * 1024 * 1024)
    assert "3 MB" in error.message and "limit is 2 MB" in error.message


@pytest.mark.parametrize("data", [b"", b"  \n\t\r\n  ", b"\x00\x00\x00"])
def test_empty_files(data):
    fails_with("empty_file", data, "empty.txt")


def test_pdf_without_pages_is_empty():
    fails_with("empty_file", files.zero_page_pdf(), "blank.pdf")


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (b"MZ\x90\x00\x03" + bytes(2000), "price-list.pdf", "Windows program"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "scan.png", "OCR"),
        (b"\x7fELF" + bytes(200), "tool", "program"),
        (b"<html><body>404 Not Found</body></html>", "report.pdf", "renamed"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000), "old.doc", ".doc"),
        (files.zip_archive({"notes.txt": b"hello"}), "bundle.zip", "Unzip"),
        (
            files.zip_archive({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p/>"}),
            "deck.pptx",
            "PowerPoint",
        ),
        (bytes(range(256)) * 40, "data.bin", "binary"),
    ],
    ids=["exe-renamed-pdf", "png", "elf", "html-renamed-pdf", "legacy-doc", "zip", "pptx", "binary"],
)
def test_unsupported_types(data, name, says):
    assert says in fails_with("unsupported_type", data, name).message


def test_password_protected_office_file_is_encrypted():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600) + "EncryptionInfo".encode("utf-16-le") + bytes(600)
    fails_with("encrypted_file", ole, "contract.docx")


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (GOOD_PDF[: len(GOOD_PDF) // 2], "cut.pdf", "corrupt_file"),
        (GOOD_PDF[:-20], "cut-end.pdf", "corrupt_file"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 50 + b"\n%%EOF\n", "garbage.pdf", "corrupt_file"),
        (files.encrypted_pdf(GOOD_PDF), "locked.pdf", "encrypted_file"),
        (files.image_only_pdf(), "scan.pdf", "no_extractable_text"),
        (files.word()[:4000], "cut.docx", "corrupt_file"),
        (files.workbook()[:-300], "cut.xlsx", "corrupt_file"),
        (
            files.zip_archive({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<not xml"}),
            "bad.docx",
            "corrupt_file",
        ),
        (
            files.zip_archive({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"\x00\x01"}),
            "bad.xlsx",
            "corrupt_file",
        ),
    ],
    ids=[
        "pdf-cut",
        "pdf-cut-end",
        "pdf-garbage",
        "pdf-encrypted",
        "pdf-scanned",
        "docx-cut",
        "xlsx-cut",
        "docx-bad-xml",
        "xlsx-bad-xml",
    ],  # fmt: skip
)
def test_broken_documents(data, name, code):
    fails_with(code, data, name)


def test_scanned_pdf_message_mentions_ocr():
    error = fails_with("no_extractable_text", files.image_only_pdf(), "scan.pdf")
    assert error.message == "This PDF has no extractable text (is it a scanned image? OCR is not supported)."


def test_zip_bomb_is_refused_before_decompression():
    bomb = files.docx_bomb(50 * 1024 * 1024)
    assert len(bomb) < 200_000
    assert "compression bomb" in fails_with("archive_bomb", bomb, "bomb.docx").message
    fails_with("archive_bomb", bomb, "bomb.xlsx")


def test_zip_limits_on_members_total_size_and_nesting():
    many = files.zip_archive({f"f{i}.xml": b"<x/>" for i in range(60)})
    with pytest.raises(IngestError) as caught:
        check_archive(many, ZipLimits(max_members=50))
    assert caught.value.code == "archive_bomb"
    big = files.zip_archive({"a.xml": bytes(300_000)}, level=0)  # stored: no ratio, just big
    with pytest.raises(IngestError) as caught:
        check_archive(big, ZipLimits(max_total_bytes=200_000))
    assert caught.value.code == "archive_bomb"
    check_archive(files.nested_zip_docx(2))  # a document embedding a workbook is normal
    fails_with("archive_bomb", files.nested_zip_docx(4), "nested.docx")


def test_library_exceptions_never_escape(monkeypatch):
    def explode(data: bytes) -> None:
        raise KeyError("word/styles.xml")

    monkeypatch.setitem(parse_module._PARSERS, "docx", lambda data, title, ctype: explode(data))
    fails_with("corrupt_file", files.word(), "handbook.docx")


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;">]>'
    "<html><body><p>Visible text first. Hello &lol9; world.</p></body></html>"
)
HOSTILE = {
    "deep-nesting": "<html><body><p>Visible text first.</p>" + "<div>" * 10_000 + "deep" + "</div>" * 10_000,
    "deep-unclosed": "<html><body><p>Visible text first.</p>" + "<div><span><b>" * 10_000,
    "one-5mb-tag": "<html><body><p>" + "x" * 5_000_000 + "</p></body></html>",
    "5mb-attribute": "<html><body><p title='" + "y" * 5_000_000 + "'>Visible text first.</p></body></html>",
    "billion-laughs": LAUGHS,
    "script-only": "<html><head><script>alert('SCRIPT')</script></head><body><script>var a=1;</script></body></html>",
    "null-bytes": "<html><body><p>Visible\x00 text\x00 first.</p></body></html>",
    "malformed": "<html><body><p>Visible <b>text <i>first.</p></div></span><table><tr><td>cell</table><<<>>&&;",
    "wrong-charset": '<html><head><meta charset="utf-16"></head><body><p>Visible text first, café.</p></body></html>',
    "unknown-charset": '<html><head><meta charset="x-klingon"></head><body><p>Visible text first.</p></body></html>',
    "xml-declaration": '<?xml version="1.0" encoding="ISO-8859-1"?><html><p>Visible text first.</p></html>',
    "many-paragraphs": "<html><body>" + "".join(f"<p>Line {i} of many.</p>" for i in range(60_000)) + "</body></html>",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_html_gives_clean_text_or_a_clear_error(name):
    data = HOSTILE[name].encode("utf-8")
    try:
        doc = parse_file(data, "page.html")
    except IngestError as error:
        assert name == "script-only" and error.code == "no_extractable_text"
    else:
        assert "Visible text first" in doc.text or name in ("one-5mb-tag", "many-paragraphs")
        assert "\x00" not in doc.text and "SCRIPT" not in doc.text
        assert "lollol" not in doc.text
    page = parse_html_page(data, "https://example.test/") if name != "script-only" else None
    assert page is None or page.url == "https://example.test/"


def test_crawled_page_too_large():
    with pytest.raises(IngestError) as caught:
        parse_html_page(b"<p>" + b"a" * 2_000_000, "https://example.test/", max_bytes=1_000_000)
    assert caught.value.code == "too_large"
