"""What a link's page shows of its tag suggestions: the analysis status and the pending suggestions."""
from __future__ import annotations

from dataclasses import dataclass


from snapshots.models import Link
from snapshots.web.listing import LinkRow, awaiting_suggestions, link_row, link_rows
from tagging.models import Analysis, TagSuggestion
from tagging.suggestions import service as suggestions

# What the page shows of an analysis (never the stored vectors).
ANALYSIS_FIELDS = ("id", "link_id", "snapshot_id", "status", "error", "attempts", "model_version", "finished_at")


@dataclass
class SuggestionPanel:
    link: Link
    analysis: Analysis | None
    suggestions: list[TagSuggestion]
    polling: bool  # the panel asks again: the models work, or a capture that starts them runs or just ended

    @property
    def status(self) -> str:
        """pending / running / done / failed like a capture, or "none" before the first analysis."""
        return self.analysis.status if self.analysis else "none"


def panel_for(link: Link, state: LinkRow | None = None) -> SuggestionPanel:
    """The panel of ``link``; ``state`` is its snapshot state when the caller has it already."""
    state = state or link_row(link)
    analysis = Analysis.objects.filter(link=link).only(*ANALYSIS_FIELDS).first()
    return SuggestionPanel(link=link, analysis=analysis, suggestions=suggestions.pending_of(link),
                           polling=awaiting_suggestions(analysis, state.latest, state.is_active))


def fresh_row(link: Link) -> LinkRow:
    """The link as a list row shows it, with its tags and pending suggestions."""
    fresh = suggestions.with_pending(Link.objects.filter(pk=link.pk)).defer("page_text", "notes").get()
    return link_rows([fresh], with_tags=True)[0]

