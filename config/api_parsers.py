"""Request parsers of the API that refuse bodies over the configured size before parsing them.

Django checks DATA_UPLOAD_MAX_MEMORY_SIZE only when ``request.body`` or ``request.POST`` is read;
DRF's parsers read the raw stream, so without this a huge JSON body would be parsed in full.
"""
from __future__ import annotations

import io
from typing import IO

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import FormParser, JSONParser


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self) -> None:
        super().__init__(f"The request body is larger than {max_body_bytes():,} bytes.")


def max_body_bytes() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def read_limited(stream: IO[bytes] | None) -> bytes:
    """Read at most the allowed body size; one byte more means the body is too large."""
    if stream is None:
        return b""
    limit = max_body_bytes()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise RequestTooLarge()
    return data


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        body = read_limited(stream)
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:  # e.g. [[[[…]]]] 100,000 deep: Python's parser gives up, not the server
            raise ParseError("JSON parse error - the body is nested too deeply.") from None


class LimitedFormParser(FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return super().parse(io.BytesIO(read_limited(stream)), media_type, parser_context)


API_PARSERS = [LimitedJSONParser, LimitedFormParser]
