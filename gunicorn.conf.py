"""How the web server runs in production: read by the web container (Dockerfile,
scripts/docker-web) and by bench/apifiling.py, so that the benchmark measures the server
as it is deployed. Options on the command line win (the bench binds a port of its own).

Threaded workers (gthread) keep each client's connection alive between requests: an
integration filing tickets does not pay a TCP connection per request, and a slow client
holds a thread, not a whole process. Each thread keeps its own database connection
(CONN_MAX_AGE), so workers x threads is the number of PostgreSQL connections one web
container opens.
"""

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
