"""Django admin for links and snapshots: search, filters and the everyday bulk actions."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from snapshots.admin_saving import LinkAdminForm, SavesThroughServices
from snapshots.capture_jobs.queue import request_snapshot
from snapshots.links import services
from snapshots.models import Link, Snapshot

ACTIVE_STATUSES = (Snapshot.Status.PENDING, Snapshot.Status.RUNNING)


class SnapshotInline(admin.TabularInline):
    model = Snapshot
    fields = ["status", "attempts", "created_at", "finished_at", "http_status", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # snapshots come from captures, not from typing


@admin.register(Link)
class LinkAdmin(SavesThroughServices, admin.ModelAdmin):
    form = LinkAdminForm
    list_display = ["display_title", "url", "user", "tag_names", "unread", "archived", "snapshot_status", "created_at"]
    list_display_links = ["display_title"]
    list_filter = ["archived", "unread", "created_at", "user"]
    search_fields = ["title", "url", "description", "notes", "tags__name", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["tags"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "updated_at"]
    inlines = [SnapshotInline]
    actions = ["archive", "unarchive", "recapture"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Link]:
        newest = Snapshot.objects.filter(link=OuterRef("pk")).order_by("-created_at", "-id")
        return (super().get_queryset(request).defer("page_text").prefetch_related("tags")
                .annotate(latest_status=Subquery(newest.values("status")[:1])))

    @admin.display(description="title", ordering="title")
    def display_title(self, link: Link) -> str:
        return link.display_title[:80]

    @admin.display(description="tags")
    def tag_names(self, link: Link) -> str:
        return ", ".join(tag.name for tag in link.tags.all())

    @admin.display(description="latest snapshot")
    def snapshot_status(self, link: Link) -> str:
        return link.latest_status or "none"

    @admin.action(description="Archive selected links")
    def archive(self, request: HttpRequest, queryset: QuerySet[Link]) -> None:
        count = services.bulk_set_archived(queryset, True)
        self.message_user(request, f"Archived {count} link(s).", messages.SUCCESS)

    @admin.action(description="Unarchive selected links")
    def unarchive(self, request: HttpRequest, queryset: QuerySet[Link]) -> None:
        count = services.bulk_set_archived(queryset, False)
        self.message_user(request, f"Unarchived {count} link(s).", messages.SUCCESS)

    @admin.action(description="Capture selected links again (keeps older snapshots)")
    def recapture(self, request: HttpRequest, queryset: QuerySet[Link]) -> None:
        queued = [request_snapshot(link) for link in queryset]
        self.message_user(request, f"Queued a new capture of {len(queued)} link(s).", messages.SUCCESS)


class SnapshotLinkFilter(admin.SimpleListFilter):
    """Snapshots of one user's links (the admin shows everyone's)."""

    title = "user"
    parameter_name = "user"

    def lookups(self, request, model_admin):
        users = Link.objects.values_list("user_id", "user__username").distinct().order_by("user__username")
        return [(str(pk), name) for pk, name in users]

    def queryset(self, request, queryset):
        return queryset.filter(link__user_id=self.value()) if self.value() else queryset


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ["id", "link", "status", "attempts", "http_status", "content_type", "created_at",
                    "finished_at", "short_error"]
    list_filter = ["status", "created_at", SnapshotLinkFilter]
    search_fields = ["link__url", "link__title", "final_url", "title", "error"]
    list_select_related = ["link"]
    raw_id_fields = ["link"]
    date_hierarchy = "created_at"
    exclude = ["text"]
    readonly_fields = [
        "link", "status", "attempts", "error", "created_at", "started_at", "finished_at", "final_url",
        "http_status", "content_type", "title", "description", "language", "og_image_url", "favicon_url",
        "text_preview", "screenshot", "thumbnail", "full_page", "html", "mhtml", "pdf", "favicon",
        "sizes", "timings", "notes",
    ]
    actions = ["retry_failed"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Snapshot]:
        # Page text can be large; only the change page's preview loads it.
        return super().get_queryset(request).defer("text")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # snapshots come from captures, not from typing

    @admin.display(description="error")
    def short_error(self, snapshot: Snapshot) -> str:
        return snapshot.error[:100]

    @admin.display(description="text (start)")
    def text_preview(self, snapshot: Snapshot) -> str:
        return snapshot.text[:2000]

    @admin.action(description="Retry failed captures (adds a new snapshot per link)")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Snapshot]) -> None:
        failed_links = Link.objects.filter(snapshots__in=queryset.filter(status=Snapshot.Status.FAILED)).distinct()
        busy = Snapshot.objects.filter(link__in=failed_links, status__in=ACTIVE_STATUSES).values("link_id")
        retried = [request_snapshot(link) for link in failed_links.exclude(pk__in=busy)]
        self.message_user(request, f"Queued a new capture for {len(retried)} link(s) with a failed snapshot.",
                          messages.SUCCESS)
