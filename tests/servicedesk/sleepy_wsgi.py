"""A WSGI app that holds its thread for a while: what a busy gunicorn thread looks like."""

import time

SECONDS = 0.2


def app(environ, start_response):  # type: ignore[no-untyped-def]
    time.sleep(SECONDS)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
