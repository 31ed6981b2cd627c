"""New tag names, proposed only when none of the person's tags fits a page.

Tag sprawl is what people dislike most in automatic taggers, so a proposal must clear three
bars: no existing tag scored well, the word is prominent on the page (in its title and again in
its URL or body), and it is not a variant of an existing tag. Variants are mapped onto the
existing tag instead: same spelling up to case, plural and separators, or a name whose
embedding is very close to an existing tag's ("js" ~ "javascript").
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tagging.scoring.score import Scored, VocabTag
from tagging.scoring.words import PageWords, name_key, singular, words

# A new name is proposed only when the best existing tag scores below this.
PROPOSE_BELOW = 0.3
# Names whose embeddings are this close are one tag spelled two ways.
SAME_TAG_SIMILARITY = 0.8
PROPOSAL_SCORE = 0.25
_STOPWORDS = frozenset("""
a about above after again all also an and any are as at be because been before being between both
but by can could did do does doing down during each few for from further get had has have having here
how if in into is it its itself just more most new no nor not now of off on once only or other our out
over own same should so some such than that the their them then there these they this those through to
too under until up very was we were what when where which while who whom why will with would you your
documentation docs doc page home index welcome introduction guide tutorial reference manual overview
using use user how-to howto html htm php aspx www http https com org net io part chapter section
version release latest stable article blog post news main site web
""".split())


def propose(page: PageWords, title: str, scored: list[Scored], vocab: list[VocabTag],
            embed_names: Callable[[list[str]], np.ndarray]) -> list[Scored]:
    """At most one new tag for the page, or an existing tag the candidate turned out to mean."""
    if scored and scored[0].score >= PROPOSE_BELOW:
        return []
    candidate = _prominent_word(page, title)
    if candidate is None:
        return []
    same = _existing_variant(candidate, vocab, embed_names)
    if same is not None:
        return [Scored(same.id, same.name, PROPOSAL_SCORE, [f"title mentions {candidate!r}, a variant of {same.name!r}"])]
    return [Scored(None, candidate, PROPOSAL_SCORE,
                   [f"title and {'URL' if candidate in page.url else 'text'} mention {candidate!r}; "
                    "none of your tags fits"])]


def _prominent_word(page: PageWords, title: str) -> str | None:
    """A title word repeated in the URL or at least three times in the body text."""
    best, best_count = None, 0
    for word in words(title):
        key = singular(word)
        if key in _STOPWORDS or len(key) < 3 or key.isdigit() or word in _STOPWORDS:
            continue
        count = page.body.get(key, 0) + (5 if key in page.url else 0)
        if count >= 3 and count > best_count:
            best, best_count = word, count
    return best


def _existing_variant(candidate: str, vocab: list[VocabTag],
                      embed_names: Callable[[list[str]], np.ndarray]) -> VocabTag | None:
    key = name_key(candidate)
    for tag in vocab:
        if name_key(tag.name) == key:
            return tag
    with_vectors = [tag for tag in vocab if tag.name_vector is not None]
    if not with_vectors:
        return None
    vector = embed_names([candidate])[0]
    sims = np.array([float(tag.name_vector @ vector) for tag in with_vectors])
    best = int(np.argmax(sims))
    return with_vectors[best] if sims[best] >= SAME_TAG_SIMILARITY else None
