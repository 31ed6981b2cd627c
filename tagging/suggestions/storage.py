"""Suggestions of many links written at once: planned before the transaction, written by a few statements.

SQLite lets one writer in at a time, so the time a batch of suggestions spends inside its
transaction is time every other writer waits for: the processes of ``reanalyze --jobs N``, the
capture worker, the web. So all that can be is done before the transaction opens: the links'
current suggestions read, the new ones chosen against them, each statement's parameters prepared.
Inside, each statement runs once over all its rows (executemany), as the analyses' vectors are
written (tagging/analysis/jobs.py, finish_batch). Django's bulk_create and bulk_update prepare
their rows inside the transaction, and bulk_update builds a CASE per row and field: 0.7 s for
1,000 changed suggestions on two cores (bench/RESULTS.md, "Suggestions written outside the write lock").

The statements are fenced instead of the rows being locked while the plan is made: an update or
a delete touches a suggestion only while it is still pending, so one the person accepted or
rejected after it was read keeps their decision; a new suggestion whose name the link got in the
meantime is left out. A tag is applied automatically only where the suggestion was written so.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import QuerySet
from django.db.models.constants import OnConflict
from django.utils import timezone

from snapshots import list_cache
from snapshots.models import Link
from tagging import memberships
from tagging.models import Analysis, TagSuggestion
from tagging.scoring.score import Scored
from tagging.scoring.words import name_key

P = TagSuggestion.State
# The columns each statement writes, as model field names.
INSERTED = ("link", "user", "tag", "name", "score", "reasons", "state", "created_at", "updated_at")
UPDATED = ("tag", "name", "score", "reasons", "state", "updated_at")


@dataclass
class _Current:
    """A suggestion as read before the write."""
    pk: int
    tag_id: int | None
    name: str
    score: float
    reasons: list
    state: str


@dataclass
class Plan:
    """What writing the chosen suggestions takes, as read before the transaction."""
    now: datetime
    stale: list[int] = field(default_factory=list)  # pending suggestions no longer chosen
    created: list[dict] = field(default_factory=list)  # new suggestions, by field name
    changed: list[tuple[int, dict]] = field(default_factory=list)  # (pk, new values) of pending ones
    applied: list[tuple[int, int, str]] = field(default_factory=list)  # (link, tag, name) accepted at once


def plan(user_id: int, chosen: dict[int, list[Scored]], auto_apply_above: float | None) -> Plan:
    """The writes that replace each link's pending suggestions with its ``chosen`` (decided ones
    stay as they are); existing tags scoring at least ``auto_apply_above`` are accepted."""
    current: dict[int, dict[str, _Current]] = defaultdict(dict)
    rows = (TagSuggestion.objects.filter(link_id__in=list(chosen)).order_by("pk")
            .values_list("link_id", "pk", "tag_id", "name", "score", "reasons", "state"))
    for link_id, *values in rows:
        row = _Current(*values)
        current[link_id][name_key(row.name)] = row
    out = Plan(now=timezone.now())
    for link_id, choices in chosen.items():
        existing = current.get(link_id, {})
        keep = {name_key(c.name) for c in choices}
        out.stale += [s.pk for key, s in existing.items() if s.state == P.PENDING and key not in keep]
        for choice in choices:
            row = existing.get(name_key(choice.name))
            if row is not None and row.state != P.PENDING:
                continue  # decided: a rejected suggestion never comes back
            new = dict(tag=choice.tag_id, name=choice.name, score=round(choice.score, 4), reasons=choice.reasons,
                       state=P.PENDING, updated_at=out.now)
            if auto_apply_above is not None and choice.tag_id is not None and new["score"] >= auto_apply_above:
                new["state"] = P.ACCEPTED
                out.applied.append((link_id, choice.tag_id, choice.name))
            if row is None:
                out.created.append(dict(new, link=link_id, user=user_id, created_at=out.now))
            elif (row.tag_id, row.name, row.score, row.reasons, row.state) != (
                    new["tag"], new["name"], new["score"], new["reasons"], new["state"]):
                out.changed.append((row.pk, new))
    return out


def write(user_id: int, planned: Plan, due: list[int] | None = None) -> None:
    """The planned writes, in one transaction of a fixed number of statements. ``due``: analyses
    whose suggestions are marked due (tagging/analysis/scoring_phase.py), cleared in the same
    transaction."""
    db = connections[DEFAULT_DB_ALIAS]
    ops, table = db.ops, db.ops.quote_name(TagSuggestion._meta.db_table)
    pk, pending = _column("id", db), _column("state", db)
    created = [_values(row, INSERTED, db) for row in planned.created]  # prepared before the transaction
    changed = [_values(new, UPDATED, db) + [row, P.PENDING] for row, new in planned.changed]
    insert = (f"{ops.insert_statement(on_conflict=OnConflict.IGNORE)} {table} "
              f"({', '.join(_column(name, db) for name in INSERTED)}) VALUES ({', '.join(['%s'] * len(INSERTED))}) "
              f"{ops.on_conflict_suffix_sql(None, OnConflict.IGNORE, None, None)}")
    update = (f"UPDATE {table} SET {', '.join(f'{_column(name, db)} = %s' for name in UPDATED)} "
              f"WHERE {pk} = %s AND {pending} = %s")
    delete = f"DELETE FROM {table} WHERE {pk} = %s AND {pending} = %s"
    with transaction.atomic(), db.cursor() as cursor:
        if planned.stale:
            cursor.executemany(delete, [[row, P.PENDING] for row in planned.stale])
        if created:
            cursor.executemany(insert, created)
        if changed:
            cursor.executemany(update, changed)
        applied = _written_accepted(planned) if planned.applied else []
        if due:  # the mark shows in no list: no cache to tell
            QuerySet(Analysis).filter(pk__in=due, suggestions_due=True).update(suggestions_due=False)
        if applied:
            through = Link.tags.through
            through.objects.bulk_create([through(link_id=link_id, tag_id=tag_id) for link_id, tag_id in applied],
                                        ignore_conflicts=True)
    if planned.stale or created or changed:  # raw SQL passes by ListCacheQuerySet: tell the list cache
        list_cache.user_changed(user_id)
    if applied:
        memberships.changed(user_id)  # the through table's own manager sends no signal


def _written_accepted(planned: Plan) -> list[tuple[int, int]]:
    """(link, tag) of the suggestions this write accepted: those it left accepted at its own time
    (a fenced statement that found the suggestion decided meanwhile wrote nothing)."""
    wanted = {(link_id, name_key(name)): tag_id for link_id, tag_id, name in planned.applied}
    rows = TagSuggestion.objects.filter(link_id__in={link_id for link_id, _ in wanted}, state=P.ACCEPTED,
                                        updated_at=planned.now).values_list("link_id", "name")
    return [(link_id, wanted[(link_id, name_key(name))]) for link_id, name in rows
            if (link_id, name_key(name)) in wanted]


def _column(name: str, db) -> str:
    return db.ops.quote_name(TagSuggestion._meta.get_field(name).column)


def _values(row: dict, names: tuple[str, ...], db) -> list:
    return [TagSuggestion._meta.get_field(name).get_db_prep_save(row[name], db) for name in names]
