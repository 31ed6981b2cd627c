"""Migration 0005 fills the word evidence of analyses made before it was stored, as a live analysis would."""
import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from snapshots.models import Link, Snapshot
from tagging.analysis.inputs import inputs_of
from tagging.analysis.text_terms import BODY_CHARS, page_terms
from tagging.models import Analysis
from tagging.scoring.lexical import pack_terms, term_counts, unpack_terms

BEFORE = ("tagging", "0004_analysis_term_vector")
# Longer than what is counted, with characters of more than one byte before the cut: the database's
# substr() must cut where Python's slice does.
LONG_TEXT = "Größe der Warteschlange " * 900 + "celery worker routing " * 2000
HEADINGS = {"headings": ["Routing tasks", "Worker pools"], "keywords": ["celery"]}


@pytest.mark.django_db(transaction=True)
def test_migration_fills_terms_of_done_analyses_only(alice, monkeypatch):
    # Chunks of two: the three done rows without terms span two chunks.
    monkeypatch.setattr(importlib.import_module("tagging.migrations.0005_fill_term_vectors"), "CHUNK", 2)
    executor = MigrationExecutor(connection)
    before = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "tagging"] + [BEFORE]
    executor.migrate([BEFORE])
    old = executor.loader.project_state(before).apps
    OldLink, OldSnapshot = old.get_model("snapshots", "Link"), old.get_model("snapshots", "Snapshot")
    OldAnalysis = old.get_model("tagging", "Analysis")

    def analysed(url, status, snapshot_fields=None, terms=None, **fields):
        link = OldLink.objects.create(user_id=alice.pk, url=url, **fields)
        snapshot = OldSnapshot.objects.create(link=link, **snapshot_fields) if snapshot_fields else None
        return OldAnalysis.objects.create(link=link, user_id=alice.pk, snapshot=snapshot, status=status,
                                          terms=terms or {}, term_vector=b"")  # as 0004 left older rows

    captured = analysed("https://example.org/celery", "done", {
        "status": "done", "title": "Celery routing", "description": "How tasks find queues",
        "final_url": "https://docs.example.org/celery/routing", "text": LONG_TEXT}, HEADINGS, page_text="stale copy")
    # A failed capture, or none: the link's own fields only, its copied page text as the body.
    failed_capture = analysed("https://example.org/pg/tuning", "done", {"status": "failed", "title": "Error page",
                              "text": "502 bad gateway"}, title="Postgres tuning", page_text="shared_buffers work_mem")
    no_snapshot = analysed("https://example.org/pg/vacuum", "done", title="Vacuum notes",
                           page_text="autovacuum reclaims dead tuples; vacuum full rewrites the table")
    failed = analysed("https://example.org/failed", "failed", title="Never analysed", page_text="some words here")
    kept_blob = pack_terms(*term_counts("terms stored by a live analysis"))
    prefilled = analysed("https://example.org/kept", "done", title="Already has terms", page_text="other words")
    OldAnalysis.objects.filter(pk=prefilled.pk).update(term_vector=kept_blob)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    rows = {a.pk: a for a in Analysis.objects.select_related("link", "snapshot")}
    assert bytes(rows[captured.pk].term_vector) == pack_terms(*page_terms(
        "Celery routing", "How tasks find queues", "https://docs.example.org/celery/routing", LONG_TEXT, HEADINGS))
    ids, counts = unpack_terms(rows[captured.pk].term_vector)
    celery = int(term_counts("celery")[0][0])
    assert counts[ids.tolist().index(celery)] == 2  # title and URL: the text's mentions lie past BODY_CHARS
    assert bytes(rows[failed_capture.pk].term_vector) == pack_terms(*page_terms(
        "Postgres tuning", "", "https://example.org/pg/tuning", "shared_buffers work_mem", {}))
    assert bytes(rows[no_snapshot.pk].term_vector) == pack_terms(*page_terms(
        "Vacuum notes", "", "https://example.org/pg/vacuum",
        "autovacuum reclaims dead tuples; vacuum full rewrites the table", {}))
    assert bytes(rows[failed.pk].term_vector) == b""
    assert bytes(rows[prefilled.pk].term_vector) == kept_blob
    # What a re-run of the models would store for the two filled rows (run.store_vectors).
    for pk in (captured.pk, failed_capture.pk, no_snapshot.pk):
        row = rows[pk]
        assert bytes(row.term_vector) == pack_terms(*inputs_of(row.link, row.snapshot, with_image=False,
                                                               terms=row.terms).lexical)
    assert len(LONG_TEXT) > BODY_CHARS and Snapshot.objects.count() == 2 and Link.objects.count() == 5
