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


def test_the_lexicon_file_is_one_concept_a_line_in_three_languages():
    from jasping.knowledge.lexicon import DATA, concept_lines

    assert concept_lines("# a comment\n\nprice, cost | prix,\n    tarif | سعر\n  \nday | jour | يوم\n") == [
        "price, cost | prix, tarif | سعر",
        "day | jour | يوم",
    ]
    lines = concept_lines(DATA.read_text(encoding="utf-8"))
    assert len(lines) > 400
    assert len(set(lines)) == len(lines)  # no concept twice
    for line in lines:
        cells = line.split("|")
        assert len(cells) == 3, line
        assert all(any(tokenize(entry) for entry in cell.split(",")) for cell in cells), line
        assert not any("\u064b" <= ch <= "\u0652" for ch in cells[2]), line  # Arabic without diacritics


def test_lexicon_everyday_words_across_languages():
    assert "garantie" in translations(tokenize("Is there a warranty?"), "fr", "en")
    assert "teeth" in translations(tokenize("Le blanchiment des dents ?"), "en", "fr")
    assert "blanchiment" in translations(tokenize("teeth whitening"), "fr", "en")
    assert "enfants" in translations(tokenize("Do children pay?"), "fr", "en")  # child/children
    assert "animals" in translations(tokenize("Les animaux sont acceptés ?"), "en", "fr")  # animal/animaux
    assert "casque" in translations(tokenize("Do you rent helmets?"), "fr", "en")
    assert "livraison" in translations(tokenize("واش كاين التوصيل؟"), "fr", "ar")
    assert "noël" in translations(tokenize("Open at Christmas?"), "fr", "en")
    # one sense a line: the battery's charge is not the price's
    assert "chargeur" in translations(tokenize("charging"), "fr", "en")
    assert "prix" not in translations(tokenize("a phone charger"), "fr", "en")
