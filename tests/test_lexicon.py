"""The words that carry a question across languages: the customer-service lexicon and the FreeDict dictionary."""

from __future__ import annotations

from jasping.knowledge.analysis import tokenize
from jasping.knowledge.dictionary import DATA, DATA_AR, _tables, stem_table, translated_stems
from jasping.knowledge.lexicon import translations


def test_the_shipped_stem_table_is_the_word_list_stemmed_by_todays_analysis():
    # build_freedict.py --stems writes it; a change to the stemmers must rebuild it
    arabic = DATA_AR.read_text(encoding="utf-8").splitlines()
    assert _tables() == stem_table(DATA.read_text(encoding="utf-8").splitlines(), arabic)


def test_dictionary_translations_by_stem_both_ways():
    assert "escali" in translated_stems("stairs", "en", "fr")  # escalier, from the plural
    assert "etudi" in translated_stems("students", "en", "fr")
    assert "lift" in translated_stems("ascenseur", "fr", "en")
    assert translated_stems("zzzz", "en", "fr") == frozenset()
    assert "درج" in translated_stems("stairs", "en", "ar")  # English -> Arabic
    assert "appoint" in translated_stems("الموعد", "ar", "en") and "prix" in translated_stems("بالسعر", "ar", "fr")
    assert "parl" in translated_stems("كيتكلم", "ar", "fr")  # Darija present tense, through English
    assert translated_stems("stairs", "en", "de") == frozenset()  # no such table


def test_lexicon_phrases_in_the_questions_language_only():
    assert "vidange" in translations(tokenize("How much is an oil change?"), "fr", "en")
    assert "prix" in translations(tokenize("How much is an oil change?"), "fr", "en")
    assert "an" not in translations(tokenize("How much is an oil change?"), "fr", "en")  # "an" is not "year" here
    assert "prix" in translations(tokenize("بشحال الفيدانج"), "fr", "ar")  # Darija
    assert "dimanche" in translations(tokenize("Are you open on Sundays?"), "fr", "en")
    assert translations(tokenize("Are you open on Sundays?"), "en", "en") == []


def test_consonant_skeletons_meet_across_scripts():
    from jasping.knowledge.skeleton import skeleton

    for arabic, latin in [
        ("الكورونة", "couronne"),
        ("طوموبيل", "automobile"),
        ("زرقطوني", "Zerktouni"),
        ("فرمضان", "Ramadan"),
        ("ديستريبيسيون", "distribution"),
        ("بنجلون", "Benjelloun"),
        ("لافيدانج", "vidange"),
    ]:
        assert skeleton(arabic) & skeleton(latin), (arabic, latin)
    assert not skeleton("بلا") and not skeleton("vous")  # fewer than three consonants: no skeleton
    assert not skeleton("الكورونة") & skeleton("carte")
