"""What a link's page shows of its tag suggestions: the analysis status and the pending suggestions."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from snapshots.listing import link_row
from snapshots.models import Link
from tagging import suggestions
from tagging.models import Analysis, TagSuggestion

ACTIVE_ANALYSIS = {Analysis.Status.PENDING, Analysis.Status.RUNNING}
# What the page shows of an analysis (never the stored vectors).
ANALYSIS_FIELDS = ("id", "link_id", "status", "error", "attempts", "model_version", "finished_at")
# The stored vectors are kilobytes per link: pages that list links never read them.
ANALYSIS_VECTORS = ("analysis__image_feature", "analysis__image_descriptor", "analysis__text_vector",
                    "analysis__concepts", "analysis__inputs")


@dataclass
class SuggestionPanel:
    link: Link
    analysis: Analysis | None
    suggestions: list[TagSuggestion]
    capture_active: bool

    @property
    def status(self) -> str:
        """pending / running / done / failed like a capture, or "none" before the first analysis."""
        return self.analysis.status if self.analysis else "none"

    @property
    def polling(self) -> bool:
        """The panel asks again while the models work, and while a capture that will start them runs."""
        return self.status in ACTIVE_ANALYSIS or (self.analysis is None and self.capture_active)


def panel_for(link: Link, capture_active: bool | None = None) -> SuggestionPanel:
    analysis = Analysis.objects.filter(link=link).only(*ANALYSIS_FIELDS).first()
    if capture_active is None:
        capture_active = link_row(link).is_active
    return SuggestionPanel(link=link, analysis=analysis, suggestions=suggestions.pending_of(link),
                           capture_active=capture_active)


def with_suggestions(links: QuerySet[Link]) -> QuerySet[Link]:
    """Links for list rows: their pending suggestions prefetched (one query a page), no vectors."""
    return suggestions.with_pending(links).defer(*ANALYSIS_VECTORS)
