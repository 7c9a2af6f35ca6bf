"""The words that carry a question across languages: the customer-service lexicon and the FreeDict dictionary."""

from __future__ import annotations

from jasping.knowledge.analysis import tokenize
from jasping.knowledge.dictionary import DATA, _tables, stem_table, translated_stems
from jasping.knowledge.lexicon import translations


def test_the_shipped_stem_table_is_the_word_list_stemmed_by_todays_analysis():
    # build_freedict.py --stems writes it; a change to the stemmers must rebuild it
    assert _tables() == stem_table(DATA.read_text(encoding="utf-8").splitlines())


def test_dictionary_translations_by_stem_both_ways():
    assert "escali" in translated_stems("stairs", "en", "fr")  # escalier, from the plural
    assert "etudi" in translated_stems("students", "en", "fr")
    assert "lift" in translated_stems("ascenseur", "fr", "en")
    assert translated_stems("zzzz", "en", "fr") == frozenset()
    assert translated_stems("stairs", "en", "ar") == frozenset()  # no English-Arabic table


def test_lexicon_phrases_in_the_questions_language_only():
    assert "vidange" in translations(tokenize("How much is an oil change?"), "fr", "en")
    assert "prix" in translations(tokenize("How much is an oil change?"), "fr", "en")
    assert "an" not in translations(tokenize("How much is an oil change?"), "fr", "en")  # "an" is not "year" here
    assert "prix" in translations(tokenize("بشحال الفيدانج"), "fr", "ar")  # Darija
    assert "dimanche" in translations(tokenize("Are you open on Sundays?"), "fr", "en")
    assert translations(tokenize("Are you open on Sundays?"), "en", "en") == []
