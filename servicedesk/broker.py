"""The embedded broker: kombu's filesystem transport, with a publish a worker cannot
read half-written.

kombu (5.x) publishes by opening the message's final file name, then locking and writing
it. A worker that lists the folder in between moves the still-empty file away, reads
nothing and fails on it (`JSONDecodeError` in the worker's log): the task is lost. It
happened in the browser journeys' stack, where the beat and the web publish every few
seconds. Here a message is written under a name the consumer skips (`….msg.part`: it
takes only `….<queue>.msg`) and renamed into place, which is atomic on one filesystem,
so a file a worker can see is always whole.

`servicedesk.celery` points kombu's `filesystem://` alias at this transport, so the
default broker URL of every process (web, worker, beat, tests) uses it.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

PARTIAL_SUFFIX = ".part"


class Channel(filesystem.Channel):
    # kombu's filesystem Channel already overrides the base's `_put(queue, message)` as
    # `_put(queue, payload, **kwargs)`; this keeps the filesystem one.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        """Put `payload` onto `queue`: written aside, then renamed into the folder."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + PARTIAL_SUFFIX
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
