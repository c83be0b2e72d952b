"""Attachments on filing and on replies: size, type and emptiness checked before
anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import TicketFactory
from tickets import services
from tickets.models import Attachment, Comment, Ticket


def upload(
    name: str = "screenshot.png", content: bytes = b"\x89PNG fake image"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_filing_with_attachments_stores_them(it_type, requester, settings):
    ticket = TicketFactory(
        request_type=it_type,
        created_by=requester,
        attachments=[upload(), upload("log.txt", b"error 42")],
    )
    files = list(ticket.attachments.order_by("filename"))
    assert [(a.filename, a.size, a.content_type) for a in files] == [
        ("log.txt", 8, "text/plain"),
        ("screenshot.png", 15, "image/png"),
    ]
    assert all(a.uploaded_by == requester and a.comment is None for a in files)
    assert files[0].file.read() == b"error 42"
    assert len(stored_files(settings)) == 2


def test_reply_attachment_belongs_to_the_comment(ticket, it_agent):
    comment = services.comment_add(
        ticket=ticket, author=it_agent, body="", attachments=[upload("fix.pdf", b"%PDF")]
    )
    attachment = Attachment.objects.get()
    assert (attachment.comment, attachment.ticket) == (comment, ticket)


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (lambda: upload("virus.exe", b"MZ"), "virus.exe: files of type .exe are not accepted."),
        (lambda: upload("noext", b"data"), "noext: files of type .? are not accepted."),
        (lambda: upload("empty.txt", b""), "empty.txt: the file is empty."),
        (lambda: upload("big.txt", b"x" * 21), "big.txt: larger than the 20\xa0bytes limit."),
    ],
    ids=["extension", "no-extension", "empty", "too-big"],
)
def test_bad_attachment_refuses_filing_and_writes_nothing(
    it_type, requester, settings, file, message
):
    settings.ATTACHMENT_MAX_BYTES = 20
    with pytest.raises(ValidationError) as error:
        TicketFactory(request_type=it_type, created_by=requester, attachments=[upload(), file()])
    assert error.value.message_dict["attachments"] == [message]
    assert not Ticket.objects.exists()
    assert not Attachment.objects.exists()
    assert stored_files(settings) == []


def test_default_limit_is_described_in_megabytes(settings):
    settings.ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    big = upload("huge.pdf", b"x")
    big.size = 10 * 1024 * 1024 + 1
    with pytest.raises(ValidationError) as error:
        services.check_attachments([big])
    assert error.value.messages == ["huge.pdf: larger than the 10.0\xa0MB limit."]


def test_file_exactly_at_the_limit_is_accepted(it_type, requester, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    TicketFactory(
        request_type=it_type, created_by=requester, attachments=[upload("ok.txt", b"x" * 10)]
    )
    assert Attachment.objects.get().size == 10


def test_allowed_extensions_come_from_settings(it_type, requester, settings):
    settings.ATTACHMENT_ALLOWED_EXTENSIONS = ["dwg"]
    TicketFactory(request_type=it_type, created_by=requester, attachments=[upload("plan.DWG")])
    with pytest.raises(ValidationError):
        TicketFactory(request_type=it_type, created_by=requester, attachments=[upload("a.png")])


def test_bad_attachment_refuses_reply_and_writes_nothing(ticket, it_agent, settings):
    with pytest.raises(ValidationError) as error:
        services.comment_add(
            ticket=ticket, author=it_agent, body="See attached", attachments=[upload("x.bat")]
        )
    assert "attachments" in error.value.message_dict
    assert not Comment.objects.exists()
    assert not Attachment.objects.exists()
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.NEW


def test_every_problem_is_listed(it_type, requester):
    with pytest.raises(ValidationError) as error:
        TicketFactory(
            request_type=it_type,
            created_by=requester,
            attachments=[upload("a.exe"), upload("b.txt", b"")],
        )
    assert len(error.value.message_dict["attachments"]) == 2


def test_path_in_upload_name_is_dropped(ticket, it_agent):
    services.comment_add(
        ticket=ticket, author=it_agent, body="", attachments=[upload("../../etc/passwd.txt")]
    )
    attachment = Attachment.objects.get()
    assert attachment.filename == "passwd.txt"
    assert ".." not in attachment.file.name
