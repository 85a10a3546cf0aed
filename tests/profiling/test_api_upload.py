"""POST /solutions/batch/<version>/profile: the key, the checks of the zip, who may upload."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from batchplatform.models import Event
from profiling.models import FileBatch, ProfileStatus
from profiling.profiler import zipcheck
from tests.profiling.zips import make_zip, password_protected_zip, workers_comp_zip, zip_bomb

SEED_KEY = "ac5b3d51-50f8-40d1-e378-18f8db2fabc9"  # not an RFC 4122 variant, as in the seed
URL = "/solutions/batch/5/profile"


def upload(client, content: bytes, *, field="batch-file", url=URL, **extra):
    return client.post(url, {field: SimpleUploadedFile("batch.zip", content)}, format="multipart", **extra)


@pytest.mark.django_db
def test_an_upload_answers_the_batch_key_as_text_and_records_the_preliminary_profile(ecc, organisation):
    response = upload(ecc, workers_comp_zip())
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    key = response.content.decode()
    batch = FileBatch.objects.get(batch_key=key)
    assert (batch.organisation, batch.status, batch.member_count) == (organisation, ProfileStatus.QUEUED, 2)
    assert sorted(batch.members.values_list("name", "node")) == [("class.csv", "class"), ("insured.csv", "insured")]
    event = Event.objects.get(name="preliminaryProfile")
    assert event.attributes == {"batchKey": key, "customer": "acme", "status": "QUEUED"}
    assert event.payload["profile"]["members"][0]["header"][0] == "original_policy_term_number"


@pytest.mark.django_db
def test_a_client_chosen_guid_is_kept_even_when_it_is_not_an_rfc_4122_variant(ecc):
    response = upload(ecc, workers_comp_zip(), url=f"{URL}?batchKey={SEED_KEY}")
    assert (response.status_code, response.content.decode()) == (200, SEED_KEY)


@pytest.mark.django_db
def test_the_field_may_also_be_called_file_and_json_is_answered_when_asked_for(ecc):
    response = upload(ecc, workers_comp_zip(), field="file", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["status"] == "QUEUED"
    uuid.UUID(response.json()["batchKey"])


@pytest.mark.django_db
def test_any_version_segment_works_as_in_the_seed(ecc):
    assert upload(ecc, workers_comp_zip(), url="/solutions/batch/version/profile").status_code == 200


@pytest.mark.django_db
def test_a_key_already_used_in_the_organisation_is_a_409(ecc):
    assert upload(ecc, workers_comp_zip(), url=f"{URL}?batchKey={SEED_KEY}").status_code == 200
    response = upload(ecc, workers_comp_zip(), url=f"{URL}?batchKey={SEED_KEY}")
    assert response.status_code == 409
    assert "already exists" in response.content.decode()


@pytest.mark.django_db
def test_the_same_key_in_another_organisation_is_no_conflict(ecc, ecc_stranger):
    assert upload(ecc, workers_comp_zip(), url=f"{URL}?batchKey={SEED_KEY}").status_code == 200
    assert upload(ecc_stranger, workers_comp_zip(), url=f"{URL}?batchKey={SEED_KEY}").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["not-a-guid", "ac5b3d5150f840d1e37818f8db2fabc9", SEED_KEY + "0", "", "x" * 5000])
def test_a_batch_key_that_is_not_a_guid_is_a_400(ecc, key):
    response = upload(ecc, workers_comp_zip(), url=f"{URL}?batchKey={key}")
    assert response.status_code == 400
    assert "batchKey must be a GUID" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (password_protected_zip(), "error opening zipfile Password protected zipfile not supported"),
        (b"this is not a zip", "error opening zipfile zipfile could not be opened"),
        (workers_comp_zip()[:100], "error opening zipfile zipfile could not be opened"),
        (make_zip({"data/insured.csv": "a,b\n"}), "File contains subdirectories, provide zips with only files"),
        (make_zip({"data/": b"", "insured.csv": "a,b\n"}), zipcheck.SUBDIRECTORIES),
        (make_zip({"../insured.csv": "a,b\n"}), "is absolute or leaves the zip"),
        (make_zip({"/insured.csv": "a,b\n"}), "is absolute or leaves the zip"),
        (make_zip({"insured.xlsx": "a,b\n"}), "File insured.xlsx is not a csv, psv, tsv or txt file"),
        (make_zip({"insured.csv": "a,b\n", "class.psv": "a|b\n"}), "this one mixes csv, psv"),
        (make_zip({}), "The zip contains no files"),
        (zip_bomb(), "(zip bomb)"),
    ],
    ids=lambda value: None if isinstance(value, str) else "zip",
)
def test_a_zip_that_breaks_a_rule_is_a_400_with_the_reference_text(ecc, content, message):
    response = upload(ecc, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not FileBatch.objects.exists()


@pytest.mark.django_db
def test_too_many_members_is_a_400(ecc, settings):
    settings.PROFILING_MAX_MEMBERS = 2
    response = upload(ecc, make_zip({f"insured{i}.csv": "a,b\n" for i in range(3)}))
    assert (response.status_code, response.content.decode()) == (
        400,
        "The zip contains 3 files; at most 2 are accepted",
    )


@pytest.mark.django_db
def test_a_zip_that_unpacks_past_the_limit_is_a_400(ecc, settings):
    settings.PROFILING_MAX_UNCOMPRESSED_BYTES = 1024
    response = upload(ecc, make_zip({"insured.csv": "a,b\n" * 1000}))
    assert response.status_code == 400
    assert "unpacks to 4000 bytes; at most 1024" in response.content.decode()


@pytest.mark.django_db
def test_a_missing_file_part_or_a_body_that_is_not_multipart_is_a_400(ecc):
    assert ecc.post(URL, {"other": "x"}, format="multipart").status_code == 400
    response = ecc.post(URL, b"PK\x03\x04", content_type="application/zip")
    assert response.status_code == 400
    assert "multipart/form-data" in response.content.decode()


@pytest.mark.django_db
def test_an_upload_over_the_size_limit_is_a_413_and_leaves_nothing(ecc, settings, media):
    settings.PROFILING_MAX_UPLOAD_BYTES = 10_000
    response = upload(ecc, make_zip({"insured.csv": "a,b\n"}, compression=0) + b"\0" * 20_000)
    assert response.status_code == 413
    assert "larger than the limit of 10000 bytes" in response.content.decode()
    assert not FileBatch.objects.exists()
    assert not list(media.rglob("*.zip"))


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_a_wrong_method_is_a_405(ecc, method):
    assert getattr(ecc, method)(URL).status_code == 405


@pytest.mark.django_db
def test_bad_or_missing_credentials_are_a_403_as_the_reference_says(client, member):
    from tests.conftest import _basic

    assert client.post(URL).status_code == 403
    response = client.post(URL, HTTP_AUTHORIZATION=_basic("alice", "wrong"))
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")


def test_the_reference_texts_are_the_ones_clients_match_on():
    assert zipcheck.PASSWORD_PROTECTED == "error opening zipfile Password protected zipfile not supported"
    assert zipcheck.UNREADABLE == "error opening zipfile zipfile could not be opened"
    assert zipcheck.SUBDIRECTORIES == "File contains subdirectories, provide zips with only files"
