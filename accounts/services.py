"""Settings operations: the API token, the feed token."""
from __future__ import annotations

from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.models import FeedToken, new_key


def api_token(user) -> Token:
    token, _ = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def regenerate_api_token(user) -> Token:
    """A new key; clients using the old one get 401 from now on."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


def feed_token(user) -> FeedToken:
    token, _ = FeedToken.objects.get_or_create(user=user)
    return token


def regenerate_feed_token(user) -> FeedToken:
    token = feed_token(user)
    token.key = new_key()
    token.save(update_fields=["key", "created_at"])
    return token
