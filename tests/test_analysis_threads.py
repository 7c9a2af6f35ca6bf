"""Stemming from several threads at once: web turns run in a thread pool while index builds run in background
threads, and a snowball stemmer keeps the word it works on in itself."""

import random
import string
import threading

import snowballstemmer

from jasping.knowledge.analysis import token_forms


def test_concurrent_stemming_gives_each_thread_its_own_words() -> None:
    rng = random.Random(7)
    suffixes = ["ations", "ement", "ingly", "ness", "ities", "ational", "izations", "fulness", "ements"]
    # words nobody has stemmed before (the analyser caches the forms of words it has seen)
    words = [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9))) + rng.choice(suffixes)
        for _ in range(6_000)
    ]
    stemmers = {"en": snowballstemmer.stemmer("english"), "fr": snowballstemmer.stemmer("french")}
    expected = {(lang, w): stemmers[lang].stemWord(w) for lang in stemmers for w in words}  # one thread, beforehand
    problems: list[object] = []

    def stem_share(k: int) -> None:
        lang = "en" if k % 2 else "fr"
        for word in words[k::6]:
            try:
                forms = token_forms(word, lang)
            except Exception as error:  # noqa: BLE001 - a stemmer shared across threads raised IndexError
                problems.append(repr(error))
                continue
            if forms and forms[0][0] != expected[lang, word]:
                problems.append((word, forms))

    threads = [threading.Thread(target=stem_share, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
