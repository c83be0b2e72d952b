"""The link's token: 256 random-looking bits, stored nowhere (neither in the invitation
nor in the outbox), and a guessed, altered or malformed token reveals nothing: one page
for all of them, the same as for a token that never existed."""

from __future__ import annotations

import secrets

import pytest

from outbox.models import Message
from surveys import tokens
from surveys.models import SurveyInvitation, SurveyResponse
from tests.surveys.conftest import deliver_due, link_in, survey_emails, token_of


@pytest.fixture
def token(resolved, clock) -> str:
    clock.advance(hours=1)
    (message,) = survey_emails(deliver_due())
    return link_in(message)


def altered(token: str) -> str:
    swap = "A" if token[10] != "A" else "B"
    return token[:10] + swap + token[11:]


def test_the_token_has_256_bits_and_is_the_one_the_invitation_makes(token):
    assert len(token) == 43  # 32 bytes in base64url
    assert token == token_of(SurveyInvitation.objects.get())


def test_the_token_is_stored_nowhere(token):
    invitation = SurveyInvitation.objects.get()
    assert invitation.token_hash == tokens.token_hash(token) != token
    for message in Message.objects.all():
        assert token not in str(message.payload)
    assert token not in str(SurveyInvitation.objects.values().get())


def test_two_invitations_get_unrelated_tokens(resolved, clock, it_type, requester, it_agent):
    from tests.factories import TicketFactory
    from tests.surveys.conftest import resolve

    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    first, second = (token_of(i) for i in SurveyInvitation.objects.order_by("pk"))
    assert first != second
    assert sum(a == b for a, b in zip(first, second, strict=True)) < 15


@pytest.mark.parametrize(
    "make_bad",
    [
        altered,
        lambda token: token[:-1],
        lambda token: token + "A",
        lambda token: token.upper() if token.upper() != token else token.lower(),
        lambda token: secrets.token_urlsafe(32),
        lambda token: "%00" + token[3:],
        lambda token: "x" * 400,
    ],
    ids=["one-char", "shorter", "longer", "case", "random", "nul", "huge"],
)
def test_a_bad_token_gets_the_same_page_as_any_other(client, token, make_bad):
    reference_page = client.get(f"/survey/{secrets.token_urlsafe(32)}/")
    response = client.get(f"/survey/{make_bad(token)}/")
    assert response.status_code == 404
    assert response.content == reference_page.content
    page = response.content.decode()
    invitation = SurveyInvitation.objects.select_related("ticket").get()
    assert invitation.ticket.reference not in page and "IT" not in page.split("<main")[1]
    assert b"This survey link does not work" in response.content


def test_posting_to_a_bad_token_records_nothing(client, token):
    assert client.post(f"/survey/{altered(token)}/", {"score": "1"}).status_code == 404
    assert client.post(f"/survey/{altered(token)}/reopen/").status_code == 404
    assert not SurveyResponse.objects.exists()


def test_links_made_before_a_key_rotation_still_work_with_the_old_key_as_fallback(
    token, settings, client
):
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert client.get(f"/survey/{token}/").status_code == 200  # found by its hash
    assert token_of(SurveyInvitation.objects.get()) == token  # remade for the reminder
    settings.SECRET_KEY_FALLBACKS = []
    invitation = SurveyInvitation.objects.get()
    assert tokens.token_of(seed=invitation.token_seed, expected_hash=invitation.token_hash) is None
