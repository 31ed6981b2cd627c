"""Fill the stored top terms of analyses made before 0004 (empty term_vector), without the models.

The terms are text work on fields already in the database: the link's and its done snapshot's
title, description, text and URL, and the headings kept in ``Analysis.terms``. They are computed by
the same functions as a live analysis (tagging/analysis/text_terms.py, no model imports), so a
filled row holds what ``run.store_vectors`` would have written for it; no HTML file is read.
Pending, running and failed analyses are left alone (the worker writes their terms when it runs),
and so is any row that already has terms.
"""
from types import SimpleNamespace

from django.db import migrations
from django.db.models.functions import Substr

from tagging.analysis.text_terms import BODY_CHARS, page_terms, page_text
from tagging.scoring.lexical import pack_terms

CHUNK = 500
# Only the start of a text is counted (page_terms reads BODY_CHARS of it), so the database cuts it:
# a chunk of long pages holds at most CHUNK x 2 x BODY_CHARS characters. substr() counts
# characters on SQLite and Postgres alike, as Python's slice does, and keeps an empty text empty.
FIELDS = ("pk", "terms", "link__title", "link__description", "link__url", "snapshot__status", "snapshot__title",
          "snapshot__description", "snapshot__final_url", "snapshot_text", "link_text")


def fill_term_vectors(apps, schema_editor):
    Analysis = apps.get_model("tagging", "Analysis")
    missing = (Analysis.objects.using(schema_editor.connection.alias)
               .filter(status="done", term_vector=b"").order_by("pk")
               .annotate(snapshot_text=Substr("snapshot__text", 1, BODY_CHARS),
                         link_text=Substr("link__page_text", 1, BODY_CHARS)))
    after = 0
    while True:  # pk ranges: a row with no words at all stays empty and is not read twice
        rows = list(missing.filter(pk__gt=after).values(*FIELDS)[:CHUNK])
        if not rows:
            return
        after = rows[-1]["pk"]
        filled = [Analysis(pk=row["pk"], term_vector=blob) for row in rows if (blob := _term_vector(row))]
        Analysis.objects.using(schema_editor.connection.alias).bulk_update(filled, ["term_vector"])


def _term_vector(row: dict) -> bytes:
    link = SimpleNamespace(title=row["link__title"], description=row["link__description"], url=row["link__url"],
                           page_text=row["link_text"])
    snapshot = (SimpleNamespace(title=row["snapshot__title"], description=row["snapshot__description"],
                                text=row["snapshot_text"], final_url=row["snapshot__final_url"])
                if row["snapshot__status"] == "done" else None)  # as inputs_of: only a done capture counts
    page = page_text(link, snapshot)
    terms = row["terms"] if isinstance(row["terms"], dict) else {}
    return pack_terms(*page_terms(page.title, page.description, page.url, page.body, terms))


class Migration(migrations.Migration):

    dependencies = [
        ("tagging", "0004_analysis_term_vector"),
        ("snapshots", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(fill_term_vectors, migrations.RunPython.noop),
    ]
