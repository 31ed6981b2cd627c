"""The second phase of ``manage.py reanalyze``: suggestions for the links whose vectors were redone.

``reanalyze`` first stores the vectors of every pending link without scoring them (``run.drain``
with ``score=False``), then scores each link once here, against the person's library as redone.
Scoring while the vectors are redone would score the first batches against a library that still
holds earlier vectors, and each process would keep reading the rows the others finished to bring
its library up to date: 41 % of a draining thread's time with 16 processes on a GPU host
(bench/RESULTS.md, "Reanalyze on an H200 host: 8, 12 and 16 processes"). A link's suggestions stay
due (``Analysis.suggestions_due``) until they are stored, so running the command again finishes
an interrupted run; a worker that analyses the link again scores it as usual and clears the mark.
"""
from __future__ import annotations

import time
from collections.abc import Iterator

from django.db.models import QuerySet
from django.db.models.functions import Mod

from tagging.models import Analysis
from tagging.suggestions import service as suggestions


def due(user_id: int | None = None, share: tuple[int, int] = (0, 1)) -> QuerySet[Analysis]:
    """Analyses whose vectors are stored and suggestions not yet scored (of one person if given).
    ``share`` (index, count): this process's part when ``count`` processes score together, by id."""
    rows = Analysis.objects.filter(status=Analysis.Status.DONE, suggestions_due=True)
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    index, count = share
    if count > 1:
        rows = rows.alias(part=Mod("id", count)).filter(part=index)
    return rows


def score_due(limit: int, user_id: int | None = None, share: tuple[int, int] = (0, 1),
              times=None) -> Iterator[int]:
    """Score and store the suggestions of every due analysis (see :func:`due`), ``limit`` links
    at a time; yields each batch's size. ``times`` (a run.StageTimes) gets the seconds spent
    reading what the scoring needs and scoring."""
    ids = list(due(user_id, share).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), limit):
        started = time.perf_counter()
        # Read again by id: a link analysed again meanwhile is scored by whoever analysed it. The
        # scoring does not read the descriptor.
        analyses = list(due(user_id).filter(pk__in=ids[start:start + limit]).select_related("link", "snapshot")
                        .defer("image_descriptor").order_by("pk"))
        pairs = suggestions.scoring_inputs(analyses)
        read = time.perf_counter()
        suggestions.suggest_for(pairs, clear_due=True)
        if times is not None:
            times.scoring_inputs += read - started
            times.suggest += time.perf_counter() - read
        yield len(analyses)
