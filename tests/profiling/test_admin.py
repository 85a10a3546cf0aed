"""The admin pages of file batches: the profile rendered, events, re-profile, the zip's download."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from profiling import services
from profiling.models import FileBatch, ProfileStatus
from tests.profiling.zips import workers_comp_zip


@pytest.fixture
def profiled(organisation):
    batch = services.receive_batch(
        organisation=organisation, uploaded_file=SimpleUploadedFile("wc.zip", workers_comp_zip())
    )
    services.profile_batch(batch.pk)
    return FileBatch.objects.get(pk=batch.pk)


@pytest.fixture
def operator(client, staff):
    client.force_login(staff)
    return client


@pytest.mark.django_db
def test_the_batch_page_shows_the_profile_members_checks_and_events(operator, profiled):
    page = operator.get(f"/admin/profiling/filebatch/{profiled.pk}/change/").content.decode()
    assert "Full profile" in page
    assert "policy_zip_code" in page and "leading zeros" in page
    assert "date (M/D/YYYY)" in page
    assert '<svg class="histogram"' in page
    assert "class rows whose policy term has no insured row" in page
    assert "preliminaryProfile" in page and "profileUpdatedEvent" in page


@pytest.mark.django_db
def test_the_original_zip_can_be_downloaded(operator, profiled):
    response = operator.get(f"/admin/profiling/filebatch/{profiled.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == workers_comp_zip()
    assert 'filename="wc.zip"' in response["Content-Disposition"]


@pytest.mark.django_db
def test_the_reprofile_action_queues_the_batch_through_the_service(operator, profiled, monkeypatch):
    sent = []
    monkeypatch.setattr("profiling.tasks.profile_batch_task.delay", sent.append)
    response = operator.post(
        "/admin/profiling/filebatch/",
        {"action": "reprofile", "_selected_action": [profiled.pk]},
        follow=True,
    )
    assert "1 batch(es) queued for profiling again." in response.content.decode()
    assert FileBatch.objects.get(pk=profiled.pk).status == ProfileStatus.QUEUED


@pytest.mark.django_db
def test_a_member_of_an_organisation_without_staff_rights_cannot_download(client, member, profiled):
    client.force_login(member)
    response = client.get(f"/admin/profiling/filebatch/{profiled.pk}/download/")
    assert response.status_code == 302  # to the admin's login
