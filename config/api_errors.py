"""API errors as JSON that names the offending field."""
from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.views import exception_handler as drf_exception_handler

from config.api_parsers import RequestTooLarge


def exception_handler(exc, context):
    """Turn model/service ValidationErrors into 400 responses like serializer errors.

    Django's own "body too large" error would otherwise become an HTML 400 page; the API
    answers it as a JSON 413 like the one its parsers raise.
    """
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = ValidationError(detail=detail)
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    return drf_exception_handler(exc, context)
