import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
application = get_wsgi_application()

# A process serving requests wakes the outbox workers in batches (outbox/publisher.py):
# gunicorn's workers, runserver. Its thread starts on first use, in the worker process.
from outbox.publisher import outbox_publisher_enable  # noqa: E402 (needs the app loaded)

outbox_publisher_enable(batch_ms=settings.OUTBOX_PUBLISH_BATCH_MS)
