# servicedesk image: web (gunicorn), worker and beat all run from it (see docker-compose.yml).
FROM python:3.12-slim

# The code runs from the source tree in /app (templates/ and static/ live there, not in the
# installed wheel); PYTHONPATH puts it ahead of the installed copy. gunicorn.conf.py says
# how the web server runs (WEB_CONCURRENCY processes of GUNICORN_THREADS threads).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    SERVICEDESK_VAR_DIR=/app/var \
    WEB_CONCURRENCY=3

WORKDIR /app

# A home of its own: gunicorn keeps its control socket under ~/.gunicorn.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/servicedesk servicedesk

COPY . /app
RUN pip install . \
    && mkdir -p /app/var/media \
    && chown servicedesk:servicedesk /app/var /app/var/media \
    && chmod +x /app/scripts/docker-web

USER servicedesk

# Static files are collected at build time; this key exists only for this command.
RUN SECRET_KEY=build-time-only-not-a-secret-0123456789abcdef DEBUG=false \
    python manage.py collectstatic --noinput \
    && rm -rf /app/var/broker

EXPOSE 8000
CMD ["gunicorn", "--config", "/app/gunicorn.conf.py", "servicedesk.wsgi"]
