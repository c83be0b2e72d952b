"""Django admin: templates with their reasons and department settings are edited there;
invitations and responses are read-only, and no token is shown (none is stored)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from surveys.models import FollowUp, SurveyInvitation, SurveySettings, SurveyTemplate
from tests.surveys.conftest import token_of


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.mark.parametrize(
    "model", ["surveytemplate", "surveysettings", "surveyinvitation", "surveyresponse", "followup"]
)
def test_every_list_opens(admin_client, resolved, model):
    assert admin_client.get(reverse(f"admin:surveys_{model}_changelist")).status_code == 200


def test_invitations_are_read_only_and_show_no_token(admin_client, resolved):
    invitation = SurveyInvitation.objects.get()
    url = reverse("admin:surveys_surveyinvitation_change", args=[invitation.pk])
    page = admin_client.get(url).content.decode()
    assert token_of(invitation) not in page and invitation.token_hash not in page
    admin_client.post(url, {"resolution": 9})
    invitation.refresh_from_db()
    assert invitation.resolution == 1
    assert admin_client.get(reverse("admin:surveys_surveyinvitation_add")).status_code == 403


def test_a_template_with_reasons_is_made_in_admin(admin_client, it):
    data = {
        "name": "IT survey",
        "department": it.pk,
        "is_active": "on",
        "question": "How did we do?",
        **{f"label_{n}": f"Label {n}" for n in range(1, 6)},
        "allow_comment": "on",
        "comment_prompt": "Tell us more",
        "nps_question": "Recommend us?",
        "reasons-TOTAL_FORMS": "2",
        "reasons-INITIAL_FORMS": "0",
        "reasons-0-label": "Too slow",
        "reasons-0-min_score": "1",
        "reasons-0-max_score": "2",
        "reasons-0-position": "0",
        "reasons-1-label": "Backwards",
        "reasons-1-min_score": "4",
        "reasons-1-max_score": "2",
        "reasons-1-position": "1",
    }
    response = admin_client.post(reverse("admin:surveys_surveytemplate_add"), data)
    assert response.status_code == 200  # the backwards range is refused
    assert not SurveyTemplate.objects.exists()
    data["reasons-1-min_score"] = "1"
    response = admin_client.post(reverse("admin:surveys_surveytemplate_add"), data)
    assert response.status_code == 302
    template = SurveyTemplate.objects.get()
    assert [r.label for r in template.reasons.all()] == ["Too slow", "Backwards"]


def test_settings_refuse_another_departments_template(admin_client, it, hr):
    hr_template = SurveyTemplate.objects.create(name="HR's", department=hr)
    data = {
        "department": it.pk,
        "enabled": "on",
        "template": hr_template.pk,
        "delay_minutes": "60",
        "sample_percent": "100",
        "per_person_cap_days": "14",
        "expiry_days": "14",
        "reminder_days": "3",
        "min_group_size": "5",
        "low_score_threshold": "2",
    }
    response = admin_client.post(reverse("admin:surveys_surveysettings_add"), data)
    assert response.status_code == 200
    assert "Choose a global template or one of this department." in response.content.decode()
    data["template"] = ""
    data["sample_percent"] = "0"
    response = admin_client.post(reverse("admin:surveys_surveysettings_add"), data)
    assert response.status_code == 200 and not SurveySettings.objects.exists()
    data["sample_percent"] = "25"
    assert admin_client.post(reverse("admin:surveys_surveysettings_add"), data).status_code == 302
    assert SurveySettings.objects.get().sample_percent == 25


def test_follow_ups_cannot_be_added_in_admin(admin_client):
    assert admin_client.get(reverse("admin:surveys_followup_add")).status_code == 403
    assert not FollowUp.objects.exists()
