"""Tag suggestions of links: computed from stored vectors, stored, accepted and rejected.

Governance: the person's existing tags are scored first and win; a new name is proposed only
when none fits, and a proposal that is a variant of an existing tag becomes that tag. A rejected
suggestion is remembered and never made again for that link; an accepted one applies the tag,
which makes the link an example for later scoring.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Min, Prefetch, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from config.access import owned_by
from inference.config import FEATURE_DIM, TEXT_DIM
from snapshots.models import Link
from tagging import memberships
from tagging.analysis import library
from tagging.analysis.inputs import Inputs, inputs_of
from tagging.analysis.predictor import predictor
from tagging.analysis.vectors import unpack
from tagging.models import Analysis, SuggestionSettings, Tag, TagSuggestion
from tagging.scoring.batch import score_batch
from tagging.scoring.calibration import combination_for
from tagging.names import tag_key
from tagging.scoring.proposals import propose
from tagging.scoring.score import Query, Scored, VocabTag, score_tags
from tagging.scoring.words import PageWords, name_key
from tagging.services import get_or_create_tags
from tagging.suggestions import storage

log = logging.getLogger(__name__)
P = TagSuggestion.State
# Links re-scored at most per vocabulary change (newest first).
RESCORE_LIMIT = 2000
_name_vectors: dict[str, np.ndarray] = {}


def embed_names(names: list[str]) -> np.ndarray:
    """Tag names embedded as text (kept per process: a name's vector never changes)."""
    missing = [n for n in dict.fromkeys(names) if n not in _name_vectors]
    if missing:
        for name, vector in zip(missing, predictor().embed_texts(missing)):
            _name_vectors[name] = vector
        while len(_name_vectors) > 50_000:
            _name_vectors.pop(next(iter(_name_vectors)))
    return np.stack([_name_vectors[n] for n in names]) if names else np.zeros((0, TEXT_DIM), np.float32)


def vocabulary(user_id: int) -> list[VocabTag]:
    tags = list(Tag.objects.filter(user_id=user_id).values_list("pk", "name"))
    vectors = embed_names([name for _, name in tags])
    return [VocabTag(pk, name, vectors[i]) for i, (pk, name) in enumerate(tags)]


def suggest_for(pairs: Iterable[tuple[Analysis, Inputs]], clear_due: bool = False) -> None:
    """Score and store suggestions for analysed links, person by person.

    A constant number of queries per person whatever the number of links: their library and
    vocabulary once, the names already settled for all the links at once, then one pass of bulk
    writes (:func:`store_many`). ``clear_due``: the analyses' suggestions_due mark is cleared in
    the same transaction as their suggestions are written.
    """
    by_user: dict[int, list[tuple[Analysis, Inputs]]] = defaultdict(list)
    for analysis, inputs in pairs:
        by_user[analysis.user_id].append((analysis, inputs))
    for user_id, items in by_user.items():
        index, vocab = library.library_for(user_id), vocabulary(user_id)
        auto = auto_apply_threshold(user_id)
        settled = settled_keys([analysis.link_id for analysis, _ in items])
        store_many(user_id, choose_many(items, index, vocab, settled), auto,
                   due=[analysis.pk for analysis, _ in items] if clear_due else None)


def choose_many(items: list[tuple[Analysis, Inputs]], index, vocab: list[VocabTag],
                settled: dict[int, set[str]]) -> dict[int, list[Scored]]:
    """:func:`choose` for many links of one person, scored together (tagging/scoring/batch.py)."""
    evidence = settings.LINKSHOT_SUGGESTION_EVIDENCE
    queries = _queries(items, evidence)
    combination = combination_for(index, vocab) if settings.LINKSHOT_SUGGESTION_LEARN else None
    scored = score_batch(queries, index, vocab, combination, min_score=settings.LINKSHOT_SUGGESTION_MIN_SCORE)
    return {analysis.link_id: _best(query, inputs.title, above, vocab, settled[analysis.link_id])
            for (analysis, inputs), query, above in zip(items, queries, scored)}


def choose(analysis: Analysis, inputs: Inputs, index, vocab: list[VocabTag],
           settled: set[str] | None = None) -> list[Scored]:
    """The suggestions worth showing for one link: best existing tags, else one proposal.

    ``settled`` (see :func:`settled_keys`) is read from the database when not given.
    """
    query, = _queries([(analysis, inputs)], settings.LINKSHOT_SUGGESTION_EVIDENCE)
    if settled is None:
        settled = settled_keys([analysis.link_id])[analysis.link_id]
    return pick(query, inputs.title, index, vocab, settled)


def pick(query: Query, title: str, index, vocab: list[VocabTag], settled: set[str]) -> list[Scored]:
    """The suggestions for one link as the scorer sees it (no database reads; bench/ replays it)."""
    combination = combination_for(index, vocab) if settings.LINKSHOT_SUGGESTION_LEARN else None
    floor = settings.LINKSHOT_SUGGESTION_MIN_SCORE
    above = [s for s in score_tags(query, index, vocab, combination) if s.score >= floor]
    return _best(query, title, above, vocab, settled)


def _best(query: Query, title: str, above: list[Scored], vocab: list[VocabTag], settled: set[str]) -> list[Scored]:
    """Of the tags scoring above the floor, the best not yet settled; a proposal when none fits."""
    chosen = [s for s in above if name_key(s.name) not in settled]
    proposals = propose(query.page, title, chosen, vocab, embed_names) if query.text is not None else []
    for proposal in proposals:
        if name_key(proposal.name) not in settled and all(name_key(c.name) != name_key(proposal.name) for c in chosen):
            chosen.append(proposal)
    chosen.sort(key=lambda s: -s.score)
    return chosen[: settings.LINKSHOT_SUGGESTIONS_PER_LINK]


def _queries(pairs: list[tuple[Analysis, Inputs]], evidence: frozenset[str]) -> list[Query]:
    """The links as the scorer sees them, limited to the configured kinds of evidence (their
    screenshot features projected to the index's space by one matrix product)."""
    features = [unpack(analysis.image_feature, FEATURE_DIM) if "image" in evidence else None for analysis, _ in pairs]
    present = [n for n, feature in enumerate(features) if feature is not None]
    projected = library.project_image(np.stack([features[n] for n in present])) if present else []
    images = dict(zip(present, projected))
    return [_query(analysis, inputs, evidence, images.get(n)) for n, (analysis, inputs) in enumerate(pairs)]


def _query(analysis: Analysis, inputs: Inputs, evidence: frozenset[str], image: np.ndarray | None) -> Query:
    """One link as the scorer sees it; ``image``: its projected screenshot feature, if any."""
    text = unpack(analysis.text_vector, TEXT_DIM) if "text" in evidence else None
    return Query(link_id=analysis.link_id, text=text, image=image,
                 page=inputs.page if "text" in evidence else PageWords(),
                 concepts=[(c, p) for c, p in analysis.concepts] if "image" in evidence else [],
                 terms=inputs.lexical if "text" in evidence else None)


def settled_keys(link_ids: list[int]) -> dict[int, set[str]]:
    """Per link, the names never to suggest again: its tags and what the person already decided
    (two queries for any number of links)."""
    settled: dict[int, set[str]] = {link_id: set() for link_id in link_ids}
    decided = (TagSuggestion.objects.filter(link_id__in=link_ids).exclude(state=P.PENDING)
               .values_list("link_id", "name"))
    tagged = Link.tags.through.objects.filter(link_id__in=link_ids).values_list("link_id", "tag__name")
    for link_id, name in [*tagged, *decided]:
        settled[link_id].add(name_key(name))
    return settled


def store(link: Link, chosen: list[Scored], auto_apply_above: float | None = None) -> None:
    """Replace the link's pending suggestions with ``chosen``; decided ones stay as they are."""
    store_many(link.user_id, {link.pk: chosen}, auto_apply_above)


def store_many(user_id: int, chosen: dict[int, list[Scored]], auto_apply_above: float | None = None,
               due: list[int] | None = None) -> None:
    """For each link id of one person, replace its pending suggestions with its ``chosen``; decided
    ones stay as they are. Existing tags scoring at least ``auto_apply_above`` are applied.

    A fixed number of statements for any number of links, planned before the transaction opens
    and written in it (tagging/suggestions/storage.py). The tags applied are written to the through
    table (no per-link signal), which is why the accepted suggestions are marked here rather than
    by the tagged-by-hand receiver. ``due``: analyses whose suggestions_due mark is cleared with them.
    """
    if not chosen:
        return
    storage.write(user_id, storage.plan(user_id, chosen, auto_apply_above), due)


def auto_apply_threshold(user_id: int) -> float | None:
    prefs = SuggestionSettings.objects.filter(user_id=user_id).first()
    return prefs.auto_apply_above if prefs else None


def set_auto_apply(user, threshold: float | None) -> SuggestionSettings:
    if threshold is not None and not 0 < threshold <= 1:
        raise ValidationError({"auto_apply_above": "Use a score between 0 and 1, or leave it empty to turn it off."})
    prefs, _ = SuggestionSettings.objects.update_or_create(user=user, defaults={"auto_apply_above": threshold})
    return prefs


PENDING_ATTR = "pending_suggestions"


def pending_of(link: Link) -> list[TagSuggestion]:
    return list(TagSuggestion.objects.filter(link=link, state=P.PENDING).order_by("-score", "id"))


# The stored vectors are kilobytes per link: pages and API lists that show links never read them.
ANALYSIS_VECTORS = ("analysis__image_feature", "analysis__image_descriptor", "analysis__text_vector",
                    "analysis__term_vector", "analysis__concepts", "analysis__inputs", "analysis__terms")


def with_pending(links: QuerySet[Link]) -> QuerySet[Link]:
    """Links with their analysis status (no vectors) and pending suggestions, in two queries per page."""
    pending = TagSuggestion.objects.filter(state=P.PENDING).order_by("-score", "id")
    return (links.select_related("analysis").defer(*ANALYSIS_VECTORS)
            .prefetch_related(Prefetch("suggestions", pending, to_attr=PENDING_ATTR)))


def _matching(link: Link, names: list[str]) -> list[TagSuggestion]:
    if not names:
        raise ValidationError({"tags": "Name at least one suggested tag."})
    rows = {name_key(s.name): s for s in TagSuggestion.objects.select_for_update().filter(link=link)}
    missing = [n for n in names if name_key(n) not in rows]
    if missing:
        raise ValidationError({"tags": f"Not suggested for this link: {', '.join(map(repr, missing))}."})
    return [rows[name_key(n)] for n in names]


@transaction.atomic
def accept(link: Link, names: list[str]) -> list[TagSuggestion]:
    """Apply the named suggestions' tags to the link (a proposed name becomes a new tag)."""
    accepted = [_accept(link, row) for row in _matching(link, names)]
    return accepted


def _accept(link: Link, row: TagSuggestion) -> TagSuggestion:
    tag = row.tag if row.tag_id else get_or_create_tags(link.user, [row.name])[0]
    link.tags.add(tag)
    row.tag, row.name, row.state = tag, tag.name, P.ACCEPTED
    row.save(update_fields=["tag", "name", "state", "updated_at"])
    return row


@transaction.atomic
def reject(link: Link, names: list[str]) -> list[TagSuggestion]:
    """Remember that these tags are wrong for this link; they are never suggested for it again."""
    rows = _matching(link, names)
    TagSuggestion.objects.filter(pk__in=[r.pk for r in rows]).update(state=P.REJECTED)
    return rows


def tagged_by_hand(link: Link, tag_ids: Iterable[int]) -> None:
    """A person added a suggested tag themselves: the suggestion counts as accepted."""
    TagSuggestion.objects.filter(link=link, tag_id__in=list(tag_ids), state=P.PENDING).update(state=P.ACCEPTED)


def rescore_user(user_id: int) -> int:
    """Recompute pending suggestions from stored vectors after the person's vocabulary changed."""
    analyses = (Analysis.objects.filter(user_id=user_id, status=Analysis.Status.DONE)
                .select_related("link", "snapshot").order_by("-finished_at")[:RESCORE_LIMIT])
    pairs = scoring_inputs(analyses)
    suggest_for(pairs)
    return len(pairs)


def scoring_inputs(analyses: Iterable[Analysis]) -> list[tuple[Analysis, Inputs]]:
    """Analysed links with what the scoring reads of them, from their rows and stored terms (no
    file is read, no model runs): for scoring stored vectors again."""
    return [(a, inputs_of(a.link, a.snapshot, with_image=False, terms=a.terms, term_vector=a.term_vector))
            for a in analyses]


# --- The review page: pending suggestions across links, and accepting many at once ---------------

def pending_for(user, tag: str | None = None) -> QuerySet[TagSuggestion]:
    """The person's pending suggestions across links, best first; ``tag`` keeps one name (any case)."""
    pending = owned_by(TagSuggestion.objects.filter(state=P.PENDING), user)
    if tag and tag.strip():
        pending = pending.filter(name__iexact=tag.strip())
    return pending.order_by("-score", "id")


def pending_names(user) -> list[tuple[str, int]]:
    """The names among the person's pending suggestions, each with how many links it is suggested for."""
    rows = (owned_by(TagSuggestion.objects.filter(state=P.PENDING), user).annotate(key=Lower("name"))
            .values("key").annotate(n=Count("id"), shown=Min("name")).order_by("key"))
    return [(row["shown"], row["n"]) for row in rows]


@transaction.atomic
def accept_above(user, min_score: float, tag: str | None = None) -> int:
    """Accept every pending suggestion of the person scoring at least ``min_score``; returns how many.

    A backlog can hold thousands: the tags are applied in one insert and the suggestions marked in
    one update (no per-link signals), so the list cache is told here, once.
    """
    if not 0 <= min_score <= 1:
        raise ValidationError({"min_score": "Use a score between 0 and 1."})
    rows = list(pending_for(user, tag).filter(score__gte=min_score).select_for_update())
    if not rows:
        return 0
    tags = _tags_of(user, rows)
    through = Link.tags.through
    through.objects.bulk_create([through(link_id=row.link_id, tag_id=tags[row.pk].pk) for row in rows],
                                ignore_conflicts=True)
    memberships.changed(user.pk)
    now = timezone.now()
    for row in rows:
        row.tag, row.name, row.state, row.updated_at = tags[row.pk], tags[row.pk].name, P.ACCEPTED, now
    TagSuggestion.objects.bulk_update(rows, ["tag", "name", "state", "updated_at"], batch_size=500)
    return len(rows)


def _tags_of(user, rows: list[TagSuggestion]) -> dict[int, Tag]:
    """The tag each suggestion applies, by suggestion id; a proposed name becomes a tag (once per name)."""
    existing = Tag.objects.in_bulk({row.tag_id for row in rows if row.tag_id})
    created: dict[str, Tag] = {}
    result = {}
    for row in rows:
        if row.tag_id:
            result[row.pk] = existing[row.tag_id]
        else:
            key = tag_key(row.name)  # one tag per name, as Tag.name_key counts names
            if key not in created:
                created[key] = get_or_create_tags(user, [row.name])[0]
            result[row.pk] = created[key]
    return result
