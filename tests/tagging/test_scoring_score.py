"""Scoring a person's tags from vectors and words (pure functions, synthetic vectors)."""
import numpy as np
import pytest

from tagging.scoring.proposals import propose
from tagging.scoring.index import Library
from tagging.scoring.score import NEAREST_BLOCK, Query, VocabTag, nearest, score_tags
from tagging.scoring.words import PageWords

pytestmark = pytest.mark.no_postgres
rng = np.random.default_rng(7)


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def topic(n, centre, spread=0.35):
    """n unit vectors around a centre (same-topic links)."""
    return unit(centre + spread * rng.standard_normal((n, centre.shape[-1])))


CENTRES = unit(rng.standard_normal((3, 32)))
IMAGES = unit(rng.standard_normal((3, 16)))


def library(tags_per_topic=((1,), (2,), (3,)), n=6, first_text=None):
    text = np.concatenate([topic(n, CENTRES[t]) for t in range(3)])
    if first_text is not None:
        text[0] = first_text
    image = np.concatenate([topic(n, IMAGES[t]) for t in range(3)])
    row_tags = [tags_per_topic[t] for t in range(3) for _ in range(n)]
    return Library(link_ids=np.arange(100, 100 + 3 * n), text=text, image=image, row_tags=row_tags)


VOCAB = [VocabTag(1, "postgres", None), VocabTag(2, "django", None), VocabTag(3, "photos", None)]
BLANK = PageWords.of("", "https://example.org/x", "", "")


def test_similar_text_links_vote_for_their_tags():
    query = Query(link_id=1, text=topic(1, CENTRES[1])[0], image=None, page=BLANK)
    scored = score_tags(query, library(), VOCAB)
    assert scored[0].name == "django" and scored[0].score > 0.5
    assert scored[-1].score < 0.2
    assert any("similar links are tagged django" in r for r in scored[0].reasons)


def test_the_screenshot_alone_is_evidence():
    query = Query(link_id=1, text=None, image=topic(1, IMAGES[2])[0], page=BLANK)
    scored = score_tags(query, library(), VOCAB)
    assert scored[0].name == "photos" and scored[0].score > 0.3
    assert any(r.startswith("looks like") and "tagged photos" in r for r in scored[0].reasons)


def test_a_link_is_no_evidence_for_itself():
    lib = library(first_text=CENTRES[2])  # link 100 (tagged postgres) looks like topic 2
    query = Query(link_id=100, text=CENTRES[2], image=None, page=BLANK)
    ranked = [s.name for s in score_tags(query, lib, VOCAB)]
    assert ranked[0] == "photos"


def test_zero_shot_uses_the_tag_names():
    names = unit(rng.standard_normal((5, 384)))  # MiniLM's size: unrelated vectors are near-orthogonal
    vocab = [VocabTag(i, f"tag{i}", names[i]) for i in range(5)]
    empty = Library(link_ids=np.zeros(0, np.int64), text=np.zeros((0, 384)), image=np.zeros((0, 16)), row_tags=[])
    query = Query(link_id=1, text=unit(names[3] + 1.5 * unit(rng.standard_normal(384))), image=None, page=BLANK)
    scored = score_tags(query, empty, vocab)
    assert scored[0].name == "tag3" and scored[0].score > scored[1].score + 0.2
    assert scored[0].reasons == ["the text is about 'tag3'"]


def test_words_in_title_and_url_count():
    page = PageWords.of("Tuning Postgres autovacuum", "https://blog.example.org/postgres/vacuum", "", "")
    query = Query(link_id=1, text=None, image=None, page=page)
    best = score_tags(query, library(), VOCAB)[0]
    assert best.name == "postgres" and best.score > 0.7
    assert best.reasons == ["title mentions 'postgres'", "URL mentions 'postgres'"]


def test_image_concepts_count_for_photo_tags():
    vocab = [VocabTag(1, "cats", None), VocabTag(2, "dogs", None)]
    query = Query(link_id=1, text=None, image=None, page=BLANK, concepts=[("Persian cat", 0.8), ("web site", 0.1)])
    best = score_tags(query, library(), vocab)[0]
    assert best.name == "cats" and best.reasons == ["the screenshot shows a Persian cat"]


def embed_like(mapping):
    def embed(names):
        return np.stack([mapping[n] for n in names])
    return embed


def test_a_new_name_is_proposed_only_when_no_tag_fits():
    page = PageWords.of("Kubernetes operators explained", "https://example.org/kubernetes/operators", "",
                        "kubernetes " * 5)
    vectors = {"kubernetes": unit(rng.standard_normal(32))}
    vocab = [VocabTag(1, "postgres", unit(rng.standard_normal(32)))]
    proposals = propose(page, "Kubernetes operators explained", [], vocab, embed_like(vectors))
    assert [(p.tag_id, p.name) for p in proposals] == [(None, "kubernetes")]
    strong = score_tags(Query(1, None, None, PageWords.of("Postgres", "", "", "")), library(), VOCAB)
    assert propose(page, "Kubernetes operators explained", strong, vocab, embed_like(vectors)) == []


def test_a_proposal_close_to_an_existing_tag_becomes_that_tag():
    k8s = unit(rng.standard_normal(32))
    vocab = [VocabTag(7, "k8s", k8s)]
    page = PageWords.of("Kubernetes operators", "https://example.org/kubernetes/", "", "")
    near = embed_like({"kubernetes": unit(k8s + 0.05 * rng.standard_normal(32))})
    proposals = propose(page, "Kubernetes operators", [], vocab, near)
    assert [(p.tag_id, p.name) for p in proposals] == [(7, "k8s")]
    plural = [VocabTag(8, "Operator", None)]
    page = PageWords.of("Operators", "https://example.org/operators/", "", "")
    assert [(p.tag_id, p.name) for p in propose(page, "Operators", [], plural, near)] == [(8, "Operator")]


def test_nearest_takes_the_largest_values_and_breaks_ties_by_column():
    rng = np.random.default_rng(2)
    sims = rng.standard_normal((7, 5000)).astype(np.float32)
    sims[:, 100:140] = 10.0  # 40 equal best values: the first ten columns of them win
    sims[3] = rng.standard_normal(5000)
    got = nearest(sims, 10)
    assert [list(row) for row in got[[0, 6]]] == [list(range(100, 110))] * 2
    assert list(got[3]) == list(np.argsort(-sims[3], kind="stable")[:10])
    small = rng.standard_normal((3, 50))
    assert np.array_equal(nearest(small, 10), np.argsort(-small, axis=1, kind="stable")[:, :10])


@pytest.mark.parametrize("n", [4 * NEAREST_BLOCK, 4 * NEAREST_BLOCK + 1, 5000, 9001])
@pytest.mark.parametrize("steps", [None, 3, 40])
def test_nearest_finds_what_a_full_sort_finds(n, steps):
    """Rows of many ties, the best values in the columns past the last whole group of columns, in
    one group together, and rows mostly of one value: the same columns as a stable sort of each row."""
    rng = np.random.default_rng(n)
    sims = rng.uniform(-0.3, 0.9, (40, n)).astype(np.float32)
    if steps:
        sims = (np.round(sims * steps) / steps).astype(np.float32)
    sims[1, -7:] = 5.0  # past the last whole group, when there is one
    sims[2, n // NEAREST_BLOCK * np.arange(12)] = 4.0  # every one in the same group of columns
    sims[3, :] = 0.5  # all equal
    sims[4:8] = 0.0  # a page sharing words with three others only: the rest of its row is 0
    sims[4:8, [n // 3, 5, n - 1]] = [0.2, 0.7, 0.2]
    sims[5, 0] = -2.0  # itself
    for k in (1, 10, 30):
        assert np.array_equal(nearest(sims.copy(), k), np.argsort(-sims, axis=1, kind="stable")[:, :k])
