"""The one access rule: a person sees only their own objects; anyone else's answer 404."""
from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404

M = TypeVar("M", bound=Model)


def owned_by(queryset: QuerySet[M], user) -> QuerySet[M]:
    """Narrow a queryset to the objects owned by ``user`` (nothing for anonymous users)."""
    if not user.is_authenticated:
        return queryset.none()
    return queryset.filter(user=user)


def get_owned_or_404(queryset: QuerySet[M], user, **lookup) -> M:
    """Fetch one object of ``user``; other users' objects and missing ones look the same (404)."""
    try:
        return owned_by(queryset, user).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from None
