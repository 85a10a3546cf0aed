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


# --- Solutions, releases, submission types and submissions -----------------------------------


@pytest.fixture
def completed(organisation, scoring, eager, tmp_path):
    from tests.profiling.test_submissions import end_execution, profiled_batch

    batch = profiled_batch(organisation)
    submission = eager(
        services.submit_profiled_batch, organisation=organisation, batch_key=batch.batch_key, submission_type=scoring
    )
    submission.refresh_from_db()
    eager(end_execution, submission.execution_id, artifacts={"scores.csv": b"a,score\n1,500\n"}, tmp_path=tmp_path)
    submission.refresh_from_db()
    return submission


@pytest.fixture(autouse=True)
def empty_queues():
    from tests.plugins.test_scheduler import drain

    yield
    drain()


@pytest.mark.django_db
def test_the_submission_page_links_its_batch_its_execution_log_and_its_results(operator, completed):
    from django.urls import reverse

    page = operator.get(f"/admin/profiling/submission/{completed.pk}/change/").content.decode()
    assert "Completed" in page
    assert reverse("admin:plugins_execution_change", args=[completed.execution_id]) in page
    assert reverse("admin:profiling_filebatch_change", args=[completed.batch_id]) in page
    assert f"/admin/profiling/submission/{completed.pk}/results/" in page
    assert "batchUpdatedEvent" in page
    listing = operator.get("/admin/profiling/submission/").content.decode()
    assert str(completed.batch.batch_key) in listing


@pytest.mark.django_db
def test_the_results_zip_can_be_downloaded_by_an_operator(operator, completed):
    import io
    import zipfile

    response = operator.get(f"/admin/profiling/submission/{completed.pk}/results/")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.read("scores.csv") == b"a,score\n1,500\n"


@pytest.mark.django_db
def test_the_resubmit_action_runs_the_processor_again_through_the_service(operator, completed, eager):
    from profiling.models import Submission, SubmissionStatus

    response = eager(
        operator.post,
        "/admin/profiling/submission/",
        {"action": "resubmit", "_selected_action": [completed.pk]},
        follow=True,
    )
    assert "1 submission(s) submitted again." in response.content.decode()
    again = Submission.objects.get(pk=completed.pk)
    assert (again.status, again.runs) == (SubmissionStatus.PROCESSING, 2)
    assert again.execution_id != completed.execution_id


@pytest.mark.django_db
def test_deleting_a_batch_in_the_admin_removes_its_zip_and_its_submissions_results_zips(operator, completed, eager):
    from django.core.files.storage import default_storage

    from profiling.models import Submission

    files = [completed.batch.zip_name, completed.results_name]
    assert all(default_storage.exists(name) for name in files)
    response = eager(
        operator.post, f"/admin/profiling/filebatch/{completed.batch_id}/delete/", {"post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert not Submission.objects.filter(pk=completed.pk).exists()  # the delete cascaded
    assert [name for name in files if default_storage.exists(name)] == []


@pytest.mark.django_db
def test_a_submission_types_nodes_are_validated_by_the_service_in_the_admin(operator, scoring, processor):
    import json

    from profiling.models import SubmissionType

    form = {
        "release": scoring.release_id,
        "name": "claim_detail",
        "nodes": json.dumps([{"node": "claims", "columns": []}]),
        "max_bad_share": "0.1",
        "processor": processor.pk,
    }
    response = operator.post("/admin/profiling/submissiontype/add/", form)
    assert response.status_code == 200
    assert "nodes[0].node must be one of insured, class, term, unit, claim" in response.content.decode()
    form["nodes"] = json.dumps([{"node": "claim", "columns": [{"name": "claim_number"}]}])
    response = operator.post("/admin/profiling/submissiontype/add/", form)
    assert response.status_code == 302
    created = SubmissionType.objects.get(name="claim_detail")
    assert created.nodes == [
        {"node": "claim", "required": True, "columns": [{"name": "claim_number", "type": "text", "required": False}]}
    ]


@pytest.mark.django_db
def test_a_release_version_must_be_x_y_z_in_the_admin(operator, solution):
    response = operator.post(
        "/admin/profiling/solutionrelease/add/",
        {
            "solution": solution.pk,
            "version": "3.0",
            "current_from": "2027-01-01",
            "notes": "",
            "submission_types-TOTAL_FORMS": "0",
            "submission_types-INITIAL_FORMS": "0",
        },
    )
    assert "A release version is x.y.z" in response.content.decode()
    response = operator.post(
        "/admin/profiling/solutionrelease/add/",
        {
            "solution": solution.pk,
            "version": "3.0.0",
            "current_from": "2027-01-01",
            "notes": "",
            "submission_types-TOTAL_FORMS": "0",
            "submission_types-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert solution.releases.get(version="3.0.0").major == 3


@pytest.mark.django_db
def test_the_solution_pages_list_and_show_releases_and_submission_types(operator, scoring):
    solution, release = scoring.release.solution, scoring.release
    for url in (
        "/admin/profiling/solution/",
        f"/admin/profiling/solution/{solution.pk}/change/",
        "/admin/profiling/solutionrelease/",
        f"/admin/profiling/solutionrelease/{release.pk}/change/",
        "/admin/profiling/submissiontype/",
        f"/admin/profiling/submissiontype/{scoring.pk}/change/",
        "/admin/profiling/submission/",
    ):
        response = operator.get(url)
        assert response.status_code == 200, url
    page = operator.get(f"/admin/profiling/solution/{solution.pk}/change/").content.decode()
    assert "1.0.0" in page and "2.0.0" in page
    assert "platform-wide" in operator.get("/admin/profiling/solution/").content.decode()
