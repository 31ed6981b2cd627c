"""A WSGI app that answers every request with one file through wsgi.file_wrapper, like FileResponse."""
import os

BODY_PATH = os.environ.get("LINKSHOT_TEST_FILE", "")


def app(environ, start_response):
    size = os.path.getsize(BODY_PATH)
    start_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", str(size))])
    return environ["wsgi.file_wrapper"](open(BODY_PATH, "rb"))  # noqa: SIM115 - the server closes it
