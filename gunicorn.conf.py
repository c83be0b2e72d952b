"""How the web server runs in production: read by the web container (Dockerfile,
scripts/docker-web) and by bench/apifiling.py, so that the benchmark measures the server
as it is deployed. Options on the command line win (the bench binds a port of its own).

Threaded workers (gthread's, taking new connections by least connections:
servicedesk/gunicorn_worker.py) keep each client's connection alive between requests: an
integration filing tickets does not pay a TCP connection per request, and a slow client
holds a thread, not a whole process. Each thread keeps its own database connection
(CONN_MAX_AGE), so workers x threads is the number of PostgreSQL connections one web
container opens. Each worker tunes Python's garbage collector once the app is loaded
(`post_worker_init`, at the end).
"""

import gc
import os

bind = [os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")]
# WEB_CONCURRENCY (the Dockerfile's default: 3) processes of `threads` threads each.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# gunicorn's gthread worker, except that a process takes a new connection only with a
# thread free: kept-alive clients spread over the processes by load, not by who won the
# race to accept (servicedesk/gunicorn_worker.py).
worker_class = "servicedesk.gunicorn_worker.BalancedThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Seconds an idle client connection stays open: longer than an integration's pause
# between two calls, shorter than the load balancers' usual idle timeout (60 s).
keepalive = 30
timeout = 60
graceful_timeout = 30
# One line per request on standard output (docker logs), as before this file existed.
accesslog = "-"


# Python's cyclic garbage collector, tuned for a web process (measured in bench apifiling
# with gc.callbacks, ms of collection per request: 0.94 as Python sets it, 0.27 so):
# - freeze what loading the app created (Django, the project, ~100,000 objects that live
#   as long as the process), so that full collections stop walking it again and again;
# - collect the youngest generation after 20,000 new objects instead of 700: a request
#   leaves a few hundred, most of them gone by then, so a collection finds less to walk
#   per request, and fewer survivors reach the older generations.
GC_THRESHOLDS = (20_000, 10, 10)


def post_worker_init(worker):
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
