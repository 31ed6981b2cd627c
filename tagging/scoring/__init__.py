"""Tag suggestion scoring: pure functions over stored vectors and words (no ORM, no models).

words.py     tag-name variants and where a page mentions them
score.py     evidence per tag (similar links, tag prototypes, tag names, words, image concepts)
             combined into one score in [0, 1] with reasons
proposals.py new tag names for pages no existing tag fits, mapped onto existing tags when close
"""
