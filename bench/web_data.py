"""Synthetic links for the web benchmark: bulk-loaded, tagged, with page text.

Words follow a Zipf-like distribution over a made-up vocabulary plus a few real words the
benchmark searches for, so that common, rare, phrase and URL searches all have realistic hit
counts. Rows go in with bulk_create: the database triggers of snapshots/search/index.py index
them exactly as links saved through the app are indexed.
"""
from __future__ import annotations

import itertools
import logging
import random
import time

from django.contrib.auth import get_user_model
from django.db import transaction

from snapshots.models import Link
from tagging.models import Tag
from tagging.names import tag_key

log = logging.getLogger(__name__)

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pa", "den", "gor", "lin", "qua", "bex", "tor", "ul"]
# Real words that the benchmark's queries look for, at ranks of the distribution that give
# them known shares of links (about 20% for python, 9% database, 3% recipe, 0.3% kubernetes).
TOPIC_WORDS = {"python": 60, "tutorial": 90, "database": 150, "security": 200, "design": 260,
               "recipe": 400, "history": 600, "music": 800, "garden": 1200, "finance": 1600,
               "travel": 2000, "science": 2500, "kubernetes": 4000}
DOMAINS_COMMON = ["github.com", "medium.com", "en.wikipedia.org", "news.ycombinator.com", "stackoverflow.com",
                  "youtube.com", "docs.python.org", "arxiv.org", "nytimes.com", "reddit.com"]
BATCH = 2000
TEXT_WORDS = (90, 140)  # page text length in words (~700-1000 characters)


class Vocabulary:
    def __init__(self, rng: random.Random, size: int = 6000):
        made_up = {"".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(size * 2)}
        words = sorted(made_up - set(TOPIC_WORDS))[:size]
        rng.shuffle(words)
        for word, rank in sorted(TOPIC_WORDS.items(), key=lambda item: item[1]):
            words.insert(rank, word)
        self.words = words
        self.cum_weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
        self.rng = rng

    def sample(self, count: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cum_weights, k=count)

    def sentence(self, low: int, high: int) -> str:
        words = self.sample(self.rng.randint(low, high))
        if self.rng.random() < 0.05:
            words[len(words) // 2:len(words) // 2] = ["machine", "learning"]
        return " ".join(words)


def _domain(rng: random.Random, vocab: Vocabulary) -> str:
    if rng.random() < 0.5:
        return rng.choice(DOMAINS_COMMON)
    return f"{vocab.sample(1)[0]}.{rng.choice(['com', 'org', 'net', 'io', 'dev'])}"


def _link(user, index: int, rng: random.Random, vocab: Vocabulary) -> Link:
    path = "/".join(vocab.sample(rng.randint(1, 3)))
    return Link(
        user=user,
        url=f"https://{_domain(rng, vocab)}/{path}/{index}",
        title=vocab.sentence(3, 8).capitalize(),
        description=vocab.sentence(8, 20) if rng.random() < 0.6 else "",
        notes=vocab.sentence(3, 10) if rng.random() < 0.1 else "",
        page_text=vocab.sentence(*TEXT_WORDS) if rng.random() < 0.9 else "",
        unread=rng.random() < 0.3,
        archived=rng.random() < 0.05,
    )


def make_user(username: str, password: str):
    return get_user_model().objects.create_user(username=username, password=password)


class LinkLoader:
    """Bulk-creates one user's links a batch at a time, so several users' saves can interleave."""

    def __init__(self, user, count: int, tag_count: int, seed: int):
        self.user, self.count, self.done = user, count, 0
        self.rng = random.Random(seed)
        self.vocab = Vocabulary(self.rng)
        # Topic words first: they get the largest shares of links ("python" tags about a fifth).
        names = list(dict.fromkeys([*TOPIC_WORDS, *self.vocab.words]))[:tag_count]
        # bulk_create skips Tag.save(), which fills the case-folded key.
        self.tags = Tag.objects.bulk_create([Tag(user=user, name=name, name_key=tag_key(name)) for name in names])
        self.tag_weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(self.tags))))

    def load(self, batch: int) -> None:
        rng, through = self.rng, Link.tags.through
        with transaction.atomic():
            links = Link.objects.bulk_create(
                [_link(self.user, i, rng, self.vocab) for i in range(self.done, min(self.count, self.done + batch))])
            rows = {(link.pk, tag.pk) for link in links
                    for tag in rng.choices(self.tags, cum_weights=self.tag_weights, k=rng.randint(1, 3))}
            through.objects.bulk_create([through(link_id=l, tag_id=t) for l, t in rows])
        self.done += len(links)


def load_users(loaders: list[LinkLoader]) -> None:
    """Load all users' links in proportion, as if they had saved them over the same months."""
    started = time.monotonic()
    largest = max(loader.count for loader in loaders)
    while any(loader.done < loader.count for loader in loaders):
        for loader in loaders:
            loader.load(max(1, BATCH * loader.count // largest))
    log.info("Loaded %s links in %.1f s", [loader.count for loader in loaders], time.monotonic() - started)

