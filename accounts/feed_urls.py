from django.urls import path

from accounts.feeds import AtomLinksFeed, LinksFeed

urlpatterns = [
    path("<str:key>/rss/", LinksFeed(), name="feed-rss"),
    path("<str:key>/atom/", AtomLinksFeed(), name="feed-atom"),
    path("<str:key>/tag/<str:tag>/rss/", LinksFeed(), name="feed-tag-rss"),
    path("<str:key>/tag/<str:tag>/atom/", AtomLinksFeed(), name="feed-tag-atom"),
]
