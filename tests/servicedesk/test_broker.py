"""The embedded broker never shows a worker a message that is still being written."""

from __future__ import annotations

import os
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

from servicedesk import broker

QUEUE = "celery"


@pytest.fixture
def channel(tmp_path: Path):
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    with Connection("filesystem://", transport_options=options) as connection:
        yield connection.default_channel


def test_the_default_broker_url_uses_our_transport(channel):
    assert isinstance(channel, broker.Channel)


def test_a_message_is_invisible_to_workers_until_it_is_whole(channel, monkeypatch):
    """kombu's own transport opened the final name, then wrote: a worker listing the
    folder in between took the empty file and lost the task."""
    seen_before_rename = []
    real_replace = os.replace

    def replace_after_a_worker_looked(source, target):
        try:
            seen_before_rename.append(channel._get(QUEUE))
        except Empty:
            seen_before_rename.append(None)
        real_replace(source, target)

    monkeypatch.setattr(broker.os, "replace", replace_after_a_worker_looked)
    channel._put(QUEUE, {"body": "sla sweep"})
    assert seen_before_rename == [None]  # the worker saw nothing while it was written
    assert channel._get(QUEUE) == {"body": "sla sweep"}  # and the whole message after
