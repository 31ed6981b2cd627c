"""RSS and Atom feeds of a person's links, of one tag, or of a search (?q=), keyed by their feed token."""
from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from accounts.models import FeedToken
from snapshots.links.queries import LinkQuery, query_links
from snapshots.models import Link

FEED_ITEMS = 100


class LinksFeed(Feed):
    def get_object(self, request: HttpRequest, key: str, tag: str | None = None) -> dict:
        token = FeedToken.objects.select_related("user").filter(key=key).first()
        if token is None:
            raise Http404("No feed with this token (it may have been regenerated).")
        query = LinkQuery(text=request.GET.get("q", "").replace("\x00", "")[:500],
                          tags=(tag,) if tag else ())
        return {"user": token.user, "query": query, "tag": tag}

    def title(self, obj: dict) -> str:
        what = f"tag {obj['tag']}" if obj["tag"] else (f"search {obj['query'].text!r}" if obj["query"].text else "links")
        return f"Linkshot: {obj['user'].get_username()}'s {what}"

    def link(self, obj: dict) -> str:
        return reverse("link-list")

    def description(self, obj: dict) -> str:
        return "Newest saved links first."

    def items(self, obj: dict):
        links = Link.objects.defer("page_text").prefetch_related("tags")
        return query_links(obj["user"], obj["query"], links)[:FEED_ITEMS]

    def item_title(self, item: Link) -> str:
        return item.display_title

    def item_description(self, item: Link) -> str:
        return item.description

    def item_link(self, item: Link) -> str:
        return item.url

    def item_guid(self, item: Link) -> str:
        return reverse("link-detail", args=[item.pk])

    def item_guid_is_permalink(self, item: Link) -> bool:
        return False

    def item_pubdate(self, item: Link):
        return item.created_at

    def item_updateddate(self, item: Link):
        return item.updated_at

    def item_categories(self, item: Link) -> list[str]:
        return [tag.name for tag in item.tags.all()]


class AtomLinksFeed(LinksFeed):
    feed_type = Atom1Feed
    subtitle = LinksFeed.description
