"""The survey page: opened by its link without signing in, pre-filled by the score in the
link, answered once; a second submit (double click, another tab) lands on the thank-you
page and records nothing more."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError

from surveys import services
from surveys.models import SurveyInvitation, SurveyReason, SurveyResponse, SurveyTemplate
from tests.factories import TicketFactory
from tests.surveys.conftest import resolve, survey_path


@pytest.fixture
def invitation(clock, it_template, it_type, requester, it_agent) -> SurveyInvitation:
    """Rita's survey with the IT template (reasons and the NPS question), sent."""
    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    clock.advance(hours=1)
    return SurveyInvitation.objects.get()


def shown_reasons(page: str) -> list[str]:
    rows = re.findall(
        r'<li data-min="\d" data-max="\d"( hidden)?>\s*<label[^>]*><input[^>]*><span>([^<]+)<', page
    )
    return [label for hidden, label in rows if not hidden]


def reason_id(template, label):
    return template.reasons.get(label=label).pk


def test_the_link_opens_the_survey_without_signing_in(client, invitation):
    response = client.get(survey_path(invitation))
    assert shown_reasons(response.content.decode()) == [
        "It took too long",
        "Not solved",
        "Quick",
        "Friendly",
    ]  # all, until a score is chosen (surveys.js then filters them)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    page = response.content.decode()
    assert invitation.ticket.reference in page
    assert "How satisfied are you" in page
    assert 'name="score"' in page and "checked" not in page.split('name="score"')[1][:80]


def test_the_score_in_the_link_pre_fills_the_form(client, invitation):
    page = client.get(survey_path(invitation) + "?score=2").content.decode()
    assert 'id="score-2" value="2" checked' in page
    assert shown_reasons(page) == ["It took too long", "Not solved"]  # those that fit a 2
    assert not SurveyResponse.objects.exists()  # opening the link records nothing


@pytest.mark.parametrize("score", ["0", "6", "x", "", "3.5"])
def test_a_nonsense_score_in_the_link_is_ignored(client, invitation, score):
    page = client.get(survey_path(invitation) + f"?score={score}").content.decode()
    assert " checked" not in page


def test_answering_records_the_response_and_shows_the_thank_you_page(
    client, invitation, it_template, clock
):
    path = survey_path(invitation)
    response = client.post(
        path,
        {
            "score": "4",
            "reasons": [reason_id(it_template, "Quick"), reason_id(it_template, "Friendly")],
            "comment": "  Sorted within the hour.  ",
            "nps": "9",
        },
    )
    assert response.status_code == 302 and response["Location"] == path
    answer = SurveyResponse.objects.get()
    assert (answer.score, answer.reasons, answer.comment, answer.nps) == (
        4,
        ["Quick", "Friendly"],
        "Sorted within the hour.",
        9,
    )
    assert answer.created_at == clock.now
    invitation.refresh_from_db()
    assert invitation.answered_at == clock.now
    # The statistics read the answer's figures from the invitation (surveys.stats).
    assert (invitation.score, invitation.nps, invitation.commented) == (4, 9, True)
    page = client.get(path)
    assert page.status_code == 200
    assert b"Thank you for your answer" in page.content
    assert b"4 out of 5" in page.content


def test_a_second_submit_records_nothing_and_shows_the_thank_you_page(client, invitation):
    path = survey_path(invitation)
    first = client.post(path, {"score": "5"})
    second = client.post(path, {"score": "1", "comment": "changed my mind"}, follow=True)
    assert first.status_code == 302
    assert second.status_code == 200
    assert b"Thank you for your answer" in second.content
    assert list(SurveyResponse.objects.values_list("score", "comment")) == [(5, "")]


def test_an_answer_without_comment_or_recommendation_is_copied_as_such(invitation, clock):
    services.survey_respond(invitation=invitation, score=2, comment="   ", now=clock.now)
    invitation.refresh_from_db()
    assert (invitation.score, invitation.nps, invitation.commented) == (2, None, False)


def test_a_refused_answer_copies_nothing_onto_the_invitation(invitation, clock):
    with pytest.raises(ValidationError):
        services.survey_respond(invitation=invitation, score=6, comment="x", now=clock.now)
    invitation.refresh_from_db()
    assert (invitation.score, invitation.nps, invitation.commented) == (None, None, False)


def test_answering_twice_through_the_service_raises(invitation, clock):
    services.survey_respond(invitation=invitation, score=3, now=clock.now)
    with pytest.raises(services.AlreadyAnswered):
        services.survey_respond(invitation=invitation, score=3, now=clock.now)
    assert SurveyResponse.objects.count() == 1


def test_a_score_is_required(client, invitation):
    response = client.post(survey_path(invitation), {"comment": "no score"})
    assert response.status_code == 400
    assert b"Choose a score." in response.content
    assert not SurveyResponse.objects.exists()


def test_reasons_must_go_with_the_score(client, invitation, it_template):
    response = client.post(
        survey_path(invitation),
        {"score": "5", "reasons": [reason_id(it_template, "It took too long")]},
    )
    assert response.status_code == 400
    assert b"Choose reasons that go with a score of 5." in response.content
    assert not SurveyResponse.objects.exists()


def test_reasons_of_another_template_are_refused(invitation, clock):
    other = SurveyTemplate.objects.create(name="Other")
    foreign = SurveyReason.objects.create(template=other, label="x", min_score=1, max_score=5)
    with pytest.raises(ValidationError) as error:
        services.survey_respond(
            invitation=invitation, score=3, reason_ids=[foreign.pk], now=clock.now
        )
    assert error.value.message_dict == {"reasons": ["Choose reasons from the list."]}


def test_bad_input_to_the_service_is_refused_per_field(invitation, clock):
    with pytest.raises(ValidationError) as error:
        services.survey_respond(
            invitation=invitation, score=7, comment="x" * 5001, nps=11, now=clock.now
        )
    assert set(error.value.message_dict) == {"score", "comment", "nps"}
    assert not SurveyResponse.objects.exists()


def test_no_comment_and_no_nps_when_the_template_does_not_ask(client, resolved, clock):
    """The built-in questions: a comment, no recommendation question, no reasons."""
    invitation = SurveyInvitation.objects.get()
    page = client.get(survey_path(invitation)).content.decode()
    assert 'name="comment"' in page
    assert 'name="nps"' not in page and 'name="reasons"' not in page
    with pytest.raises(ValidationError):
        services.survey_respond(invitation=invitation, score=3, nps=5, now=clock.now)


def test_only_get_and_post(client, invitation):
    assert client.put(survey_path(invitation)).status_code == 405
