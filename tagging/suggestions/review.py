"""What the review page shows: a person's pending suggestions across links, best first, a page at a time.

Pages follow the order (score, id) from the last item seen rather than by offset: accepting or
rejecting takes items out of the pending list, and an offset would then skip as many unseen ones.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from tagging.models import TagSuggestion
from tagging.suggestions import service as suggestions

PAGE_SIZE = 25
LINK_FIELDS = ("link__id", "link__url", "link__title", "link__user_id")


@dataclass
class ReviewPage:
    items: list[TagSuggestion]
    has_next: bool
    total: int  # pending suggestions under the current filter, all pages
    names: list[tuple[str, int]]  # every pending name of the person with its count (the filter's choices)

    @property
    def next_after(self) -> str:
        """The ``after`` value of the next page: where the last item of this one stands."""
        last = self.items[-1]
        return f"{last.score!r}_{last.pk}"


def parse_after(raw: str | None) -> tuple[float, int] | None:
    """``"<score>_<id>"`` from a next-page link; anything else means "from the best"."""
    score, _, pk = (raw or "").partition("_")
    try:
        return float(score), int(pk)
    except ValueError:
        return None


def review_page(user, tag: str = "", after: tuple[float, int] | None = None) -> ReviewPage:
    size = PAGE_SIZE
    pending = suggestions.pending_for(user, tag)
    total = pending.count()
    if after is not None:
        score, pk = after
        pending = pending.filter(Q(score__lt=score) | Q(score=score, pk__gt=pk))
    rows = list(pending.select_related("link").only("id", "name", "score", "reasons", "state", "tag_id",
                                                     "link_id", *LINK_FIELDS)[:size + 1])
    return ReviewPage(items=rows[:size], has_next=len(rows) > size, total=total, names=suggestions.pending_names(user))
