"""GET /solutions/batch/<version>/unstructured/<profile key>/profile."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from batchplatform.models import Event
from profiling.models import FileBatch, ProfileStatus
from tests.profiling.zips import make_zip, workers_comp_zip

KEY = "ac5b3d51-50f8-40d1-e378-18f8db2fabc9"


def upload(client, content=None, key=KEY):
    content = content or workers_comp_zip()
    url = f"/solutions/batch/5/profile?batchKey={key}"
    return client.post(url, {"batch-file": SimpleUploadedFile("b.zip", content)}, format="multipart")


def profile_url(key=KEY, version="version"):
    return f"/solutions/batch/{version}/unstructured/{key}/profile"


@pytest.mark.django_db
def test_while_the_full_profile_runs_the_preliminary_one_is_answered_with_its_status(ecc):
    upload(ecc)
    document = ecc.get(profile_url()).json()
    assert (document["batchKey"], document["customer"], document["status"]) == (KEY, "acme", "QUEUED")
    assert document["profile"]["kind"] == "preliminary"


@pytest.mark.django_db
def test_once_profiled_the_full_profile_is_answered_and_announced(ecc, eager):
    eager(upload, ecc)
    document = ecc.get(profile_url()).json()
    assert document["status"] == "COMPLETED"
    assert document["profile"]["kind"] == "full"
    assert document["profile"]["rowCount"] == 6
    event = Event.objects.get(name="profileUpdatedEvent")
    assert event.attributes == {"batchKey": KEY, "customer": "acme", "status": "COMPLETED"}
    assert list(FileBatch.objects.get().members.values_list("name", "row_count")) == [
        ("class.csv", 3),
        ("insured.csv", 3),
    ]


@pytest.mark.django_db
def test_a_batch_that_cannot_be_profiled_is_failed_with_its_reason(ecc, eager, media):
    upload(ecc)
    batch = FileBatch.objects.get()
    (media / batch.zip_name).unlink()  # lost from the storage before a worker took it
    from profiling import services

    eager(services.profile_batch, batch.pk)
    document = ecc.get(profile_url()).json()
    assert (document["status"], document["reason"]) == ("FAILED", "the batch's zip is no longer in the storage")
    event = Event.objects.get(name="profileUpdatedEvent")
    assert (event.attributes["status"], event.payload["reason"]) == ("FAILED", document["reason"])


@pytest.mark.django_db
def test_an_unknown_key_a_malformed_key_and_another_organisations_batch_are_404(ecc, ecc_stranger):
    upload(ecc)
    assert ecc_stranger.get(profile_url()).status_code == 404
    assert ecc.get(profile_url(key="00000000-0000-0000-0000-000000000000")).status_code == 404
    response = ecc.get(profile_url(key="not-a-key"))
    assert (response.status_code, response.content.decode()) == (404, "Not found.")


@pytest.mark.django_db
def test_the_profile_needs_credentials_and_only_answers_get(client, ecc):
    upload(ecc)
    assert client.get(profile_url()).status_code == 403
    assert ecc.post(profile_url()).status_code == 405


@pytest.mark.django_db
def test_an_uploaded_member_with_bad_rows_is_profiled_with_them_listed(ecc, eager):
    eager(upload, ecc, make_zip({"insured.csv": "id,name\n1,a\n2,b,c\n"}))
    member = ecc.get(profile_url()).json()["profile"]["members"][0]
    assert member["malformedRows"][0]["line"] == 3
    assert FileBatch.objects.get().status == ProfileStatus.COMPLETED
