"""Chunks follow headings and sentences, keep pages and Q&A pairs, and are de-duplicated."""

from __future__ import annotations

import hashlib

import pytest

import ingest_files as files
from jasping.knowledge.ingest import (
    Block,
    ChunkDraft,
    ParsedDocument,
    chunk_document,
    chunk_search_text,
    normalized_hash,
    parse_file,
    split_sentences,
)


def doc_of(*blocks: Block, language: str | None = "en") -> ParsedDocument:
    return ParsedDocument(title="t", blocks=list(blocks), language=language)


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "M. Dupont est arrivé. Il a dit « Bonjour ! » puis il est reparti. Le Dr. Martin aussi.",
            ["M. Dupont est arrivé.", "Il a dit « Bonjour ! » puis il est reparti.", "Le Dr. Martin aussi."],
        ),
        (
            "Du pain, des gâteaux, etc. et des boissons. Nous livrons aussi, etc. Vraiment ? Oui !",
            ["Du pain, des gâteaux, etc. et des boissons.", "Nous livrons aussi, etc.", "Vraiment ?", "Oui !"],
        ),
        (
            "Mr. Smith paid 3.50 EUR, e.g. for bread. See p. 12 for details. J. R. Tolkien wrote books.",
            ["Mr. Smith paid 3.50 EUR, e.g. for bread.", "See p. 12 for details.", "J. R. Tolkien wrote books."],
        ),
        (
            "مرحبا بكم في مخبزنا. هل تقومون بالتوصيل؟ نعم، نوصل داخل المدينة۔ شكرا!",
            ["مرحبا بكم في مخبزنا.", "هل تقومون بالتوصيل؟", "نعم، نوصل داخل المدينة۔", "شكرا!"],
        ),
        ("Margherita 9.50\nRegina 11.00", ["Margherita 9.50", "Regina 11.00"]),
    ],
    ids=["french-titles-guillemets", "etc", "english-abbreviations", "arabic", "lines"],
)
def test_sentence_splitting(text, sentences):
    assert split_sentences(text) == sentences


def test_chunks_respect_sizes_sentences_and_headings():
    sentences = [f"Sentence number {i} tells a short fact about our bakery." for i in range(60)]
    doc = doc_of(
        Block("Services", ("Services",), 1, "heading"),
        Block(" ".join(sentences[:40]), ("Services",), 1),
        Block("Prices", ("Prices",), 2, "heading"),
        Block(" ".join(sentences[40:]), ("Prices",), 2),
    )
    chunks = chunk_document(doc, target_chars=300, max_chars=500)
    assert all(len(c.text) <= 500 for c in chunks)
    assert {c.heading_path for c in chunks} == {("Services",), ("Prices",)}
    for chunk in chunks:  # never cut inside a sentence, and no chunk mixes the two sections
        assert chunk.text.startswith("Sentence number") and chunk.text.endswith("bakery.")
        numbers = [int(s.split()[2]) for s in split_sentences(chunk.text)]
        assert all(n < 40 for n in numbers) or all(n >= 40 for n in numbers)
    assert [c.page for c in chunks if c.heading_path == ("Prices",)] == [2] * len([c for c in chunks if c.page == 2])
    assert " ".join(c.text for c in chunks) == " ".join(sentences)  # nothing lost, nothing prepended


def test_chunk_spanning_pages_keeps_first_page():
    doc = doc_of(Block("First page ends here.", ("A",), 3), Block("Second page starts here.", ("A",), 4))
    (chunk,) = chunk_document(doc)
    assert chunk.page == 3 and chunk.text == "First page ends here.\n\nSecond page starts here."


def test_each_question_is_its_own_chunk_and_long_answers_repeat_the_question():
    long_answer = " ".join(f"Detail {i} about delivery times and places." for i in range(60))
    doc = doc_of(
        Block("Q: Do you deliver?\nA: Yes.", ("FAQ",), kind="qa"),
        Block("Q: Are you open?\nA: Yes, every day.", ("FAQ",), kind="qa"),
        Block(f"Q: Where do you deliver?\nA: {long_answer}", ("FAQ",), kind="qa"),
    )
    chunks = chunk_document(doc, target_chars=400, max_chars=600)
    assert chunks[0].text == "Q: Do you deliver?\nA: Yes." and chunks[1].text == "Q: Are you open?\nA: Yes, every day."
    rest = chunks[2:]
    assert len(rest) > 1 and all(c.text.startswith("Q: Where do you deliver?\n") and len(c.text) <= 600 for c in rest)


def test_table_rows_are_never_cut():
    rows = [Block(f"Product: Item {i}; Price: {i}.50 EUR; Unit: piece", ("Prices",), kind="table") for i in range(50)]
    chunks = chunk_document(doc_of(*rows), target_chars=300, max_chars=400)
    assert len(chunks) > 1
    lines = [line for c in chunks for line in c.text.split("\n")]
    assert lines == [b.text for b in rows]


def test_tiny_trailing_piece_joins_its_neighbour_but_not_across_headings():
    body = " ".join(f"Sentence {i} is about eighty characters long, give or take a few words here." for i in range(9))
    doc = doc_of(Block(body + " Tail.", ("A",)), Block("Lonely line.", ("B",)))
    chunks = chunk_document(doc, target_chars=400, max_chars=800)
    assert chunks[-2].text.endswith("Tail.") and chunks[-1].text == "Lonely line."
    assert chunks[-1].heading_path == ("B",)


def test_heading_without_content_is_kept_as_its_own_chunk():
    doc = doc_of(
        Block("Contact", ("Contact",), kind="heading"),
        Block("Opening hours", ("Opening hours",), kind="heading"),
        Block("Every day from 7am.", ("Opening hours",)),
    )
    chunks = chunk_document(doc)
    assert [(c.text, c.heading_path) for c in chunks] == [("Contact", ()), ("Every day from 7am.", ("Opening hours",))]


def test_single_sentence_longer_than_max_is_cut_at_clauses():
    sentence = ", ".join(f"clause {i} of a very long sentence" for i in range(100)) + "."
    chunks = chunk_document(doc_of(Block(sentence)), target_chars=300, max_chars=500)
    assert len(chunks) > 1 and all(len(c.text) <= 500 for c in chunks)
    assert all(c.text.endswith((",", ".")) for c in chunks)


def test_duplicates_are_merged_and_hash_is_normalised():
    doc = doc_of(
        Block("Open  every day.", ("A",)), Block("OPEN every\tday.", ("B",)), Block("Closed on Sunday.", ("C",))
    )
    texts = [c.text for c in chunk_document(doc)]
    assert texts == ["Open  every day.", "Closed on Sunday."]
    assert normalized_hash(" Open every DAY. ") == normalized_hash("open\tevery day.")
    assert normalized_hash("a") == hashlib.sha256(b"a").hexdigest()


def test_search_text_joins_heading_path_and_text():
    assert (
        chunk_search_text(ChunkDraft("Free above 20 EUR.", ("Shop", "Delivery")))
        == "Shop > Delivery\nFree above 20 EUR."
    )
    assert chunk_search_text(ChunkDraft("Plain.")) == "Plain."


def test_chunk_language_only_differs_when_clearly_another_language():
    doc = doc_of(
        Block(files.LOREM_FR * 2, ("Accueil",)),
        Block(files.LOREM_EN * 2, ("English",)),
        Block("Prix: 10 €", ("Tarifs",)),
        language="fr",
    )
    assert [c.language for c in chunk_document(doc)] == ["fr", "en", "fr"]


def test_invalid_sizes_are_refused():
    with pytest.raises(ValueError):
        chunk_document(doc_of(Block("x")), target_chars=900, max_chars=800)


def test_real_document_chunks_carry_pages():
    pages = [[("h1", f"Chapter {n}"), ("p", " ".join(f"In chapter {n}, fact {i} is stated." for i in range(80)))]
             for n in range(1, 4)]  # fmt: skip
    chunks = chunk_document(parse_file(files.pdf(pages), "book.pdf"))
    assert {(c.heading_path, c.page) for c in chunks} == {(("Chapter 1",), 1), (("Chapter 2",), 2), (("Chapter 3",), 3)}
