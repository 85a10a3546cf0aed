"""Submissions (profiling/services/submissions.py): the check before anything runs, the processor
started with the contract's inputs and parameters, finishing from the execution (signal or
sweep), resubmits, retention, and the batchUpdatedEvent of every move."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from batchplatform.errors import Conflict, Invalid, NotFound
from batchplatform.models import Event
from plugins import execution_files
from plugins import selectors as plugin_selectors
from plugins import services as plugin_services
from plugins.signals import execution_finished
from profiling import services
from profiling.models import FileBatch, ProfileStatus, Submission, SubmissionStatus
from tests.plugins.test_scheduler import drain
from tests.profiling.zips import CLASS, INSURED, make_zip, workers_comp_zip

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_queues():
    """Run messages of the executions started here are not left for another test's worker."""
    yield
    drain()


def profiled_batch(organisation, content: bytes = b"", key=None) -> FileBatch:
    batch = services.receive_batch(
        organisation=organisation,
        uploaded_file=SimpleUploadedFile("wc.zip", content or workers_comp_zip()),
        batch_key=key,
    )
    services.profile_batch(batch.pk)
    return FileBatch.objects.get(pk=batch.pk)


def end_execution(execution_id: int, status="SUCCEEDED", *, artifacts=None, error=None, tmp_path=None):
    """What the runner does when the plugin ends: its artifacts stored, the execution moved."""
    execution = plugin_selectors.get_execution_by_id(execution_id)
    for name, content in (artifacts or {}).items():
        source = tmp_path / name.replace("/", "_")
        source.write_bytes(content)
        execution_files.write_artifact(execution=execution, name=name, source=source)
    execution = plugin_services.transition(execution, to="RUNNING")
    plugin_services.transition(execution, to=status, error=error)


def statuses(batch) -> list[str]:
    return list(
        Event.objects.filter(name="batchUpdatedEvent", attributes__batchKey=str(batch.batch_key))
        .order_by("sequence")
        .values_list("attributes__status", flat=True)
    )


@pytest.fixture
def submitted(organisation, scoring, eager):
    """A profiled batch submitted and its processor started (the on-commit work run)."""
    batch = profiled_batch(organisation)
    submission = eager(
        services.submit_profiled_batch, organisation=organisation, batch_key=batch.batch_key, submission_type=scoring
    )
    submission.refresh_from_db()
    return submission


def test_a_fitting_batch_starts_its_processor_with_the_contracts_inputs_and_parameters(submitted, organisation):
    assert submitted.status == SubmissionStatus.PROCESSING
    execution = plugin_selectors.get_execution_by_id(submitted.execution_id)
    batch = submitted.batch
    assert execution.inputs == {
        "class.csv": {"storage_name": batch.zip_name, "member": "class.csv"},
        "insured.csv": {"storage_name": batch.zip_name, "member": "insured.csv"},
    }
    assert execution.parameters == {
        "batchKey": str(batch.batch_key),
        "customer": "acme",
        "solution": "insureright",
        "submission": "scoring",
        "solutionVersion": "1.0.0",
        "nodes": {"insured": "insured.csv", "class": "class.csv"},
    }
    assert execution.status == "PENDING" and execution.execution_type == "MANUAL"
    assert statuses(batch) == ["RECEIVED", "PROCESSING"]


def test_a_batch_still_being_profiled_is_a_conflict_and_nothing_is_created(organisation, scoring):
    batch = services.receive_batch(
        organisation=organisation, uploaded_file=SimpleUploadedFile("wc.zip", workers_comp_zip())
    )
    with pytest.raises(Conflict, match="still being profiled"):
        services.submit_profiled_batch(organisation=organisation, batch_key=batch.batch_key, submission_type=scoring)
    assert not Submission.objects.exists()


def test_an_unknown_or_foreign_batch_is_not_found(organisation, other_organisation, scoring):
    theirs = profiled_batch(other_organisation)
    with pytest.raises(NotFound):
        services.submit_profiled_batch(organisation=organisation, batch_key=theirs.batch_key, submission_type=scoring)


def test_a_missing_required_node_is_refused_naming_it(organisation, scoring):
    batch = profiled_batch(organisation, make_zip({"insured.csv": INSURED}))
    with pytest.raises(Invalid, match="missing required node class") as refused:
        services.submit_profiled_batch(organisation=organisation, batch_key=batch.batch_key, submission_type=scoring)
    assert refused.value.details == {"problems": [refused.value.details["problems"][0]]}
    assert not Submission.objects.exists()


def test_a_missing_required_column_is_refused_naming_the_file_and_column(organisation, scoring):
    insured = INSURED.replace("term_effective_date", "effective")
    batch = profiled_batch(organisation, make_zip({"insured.csv": insured, "class.csv": CLASS}))
    with pytest.raises(Invalid, match=r"insured.csv: missing required column\(s\) term_effective_date"):
        services.submit_profiled_batch(organisation=organisation, batch_key=batch.batch_key, submission_type=scoring)


def test_a_typed_column_with_too_many_bad_values_is_refused_and_one_under_the_threshold_passes(organisation, scoring):
    header = "original_policy_term_number,term_effective_date,experience_mod_factor_initial,new_renew_flag\n"
    good = "".join(f"{i},7/7/2017,0.9{i % 10},Y\n" for i in range(95))
    bad_dates = "".join(f"{i},not a date,0.9,Y\n" for i in range(100, 105))
    fits = profiled_batch(organisation, make_zip({"insured.csv": header + good + bad_dates, "class.csv": CLASS}))
    assert services.problems_with(submission_type=scoring, profile=fits.profile) == []

    worse = "".join(f"{i},not a date,0.9,Y\n" for i in range(100, 120))
    batch = profiled_batch(organisation, make_zip({"insured.csv": header + good + worse, "class.csv": CLASS}))
    with pytest.raises(Invalid) as refused:
        services.submit_profiled_batch(organisation=organisation, batch_key=batch.batch_key, submission_type=scoring)
    assert refused.value.details["problems"] == [
        "insured.csv: column term_effective_date should be date but 20 of 115 values (17.4%) are not "
        "(at most 5.0% allowed)"
    ]


def test_a_column_of_another_type_entirely_is_refused(organisation, scoring):
    insured = INSURED.replace("0.95,Y", "high,Y").replace("1.10,N", "low,N")
    batch = profiled_batch(organisation, make_zip({"insured.csv": insured, "class.csv": CLASS}))
    problems = services.problems_with(submission_type=scoring, profile=batch.profile)
    assert problems == [
        "insured.csv: column experience_mod_factor_initial should be decimal but 2 of 2 values (100.0%) are not "
        "(at most 5.0% allowed)"
    ]


def test_the_same_batch_twice_to_the_same_type_is_a_conflict(submitted, organisation, scoring):
    with pytest.raises(Conflict, match="already submitted"):
        services.submit_profiled_batch(
            organisation=organisation, batch_key=submitted.batch.batch_key, submission_type=scoring
        )


def test_upload_and_submit_waits_for_the_profile_then_starts(organisation, scoring, eager):
    submission = eager(
        services.receive_and_submit,
        organisation=organisation,
        uploaded_file=SimpleUploadedFile("wc.zip", workers_comp_zip()),
        submission_type=scoring,
    )
    submission.refresh_from_db()
    assert submission.batch.status == ProfileStatus.COMPLETED
    assert submission.status == SubmissionStatus.PROCESSING
    assert statuses(submission.batch) == ["RECEIVED", "PROCESSING"]


def test_upload_and_submit_of_a_batch_that_does_not_fit_ends_failed_with_the_reason_as_an_event(
    organisation, scoring, eager
):
    submission = eager(
        services.receive_and_submit,
        organisation=organisation,
        uploaded_file=SimpleUploadedFile("wc.zip", make_zip({"insured.csv": INSURED})),
        submission_type=scoring,
    )
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.FAILED
    assert "missing required node class" in submission.failure_reason
    failed = Event.objects.get(name="batchUpdatedEvent", attributes__status="FAILED")
    assert "missing required node class" in failed.attributes["reason"]
    assert submission.execution_id is None  # nothing ran


def test_a_succeeded_execution_packs_every_artifact_into_the_results_zip(submitted, eager, tmp_path):
    artifacts = {"scores.csv": b"original_policy_term_number,score\n1001,500\n", "summary.json": b'{"scored": 1}'}
    eager(end_execution, submitted.execution_id, artifacts=artifacts, tmp_path=tmp_path)
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.COMPLETED
    with default_storage.open(submitted.results_name, "rb") as stored:
        content = stored.read()
    assert len(content) == submitted.results_size
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == artifacts
    assert statuses(submitted.batch) == ["RECEIVED", "PROCESSING", "COMPLETED"]


def test_a_failed_execution_fails_the_submission_with_its_error(submitted, eager, tmp_path):
    eager(end_execution, submitted.execution_id, "FAILED", error={"message": "ValueError: no rows"}, tmp_path=tmp_path)
    submitted.refresh_from_db()
    assert (submitted.status, submitted.failure_reason) == (SubmissionStatus.FAILED, "ValueError: no rows")
    failed = Event.objects.get(name="batchUpdatedEvent", attributes__status="FAILED")
    assert failed.attributes == {
        "batchKey": str(submitted.batch.batch_key),
        "customer": "acme",
        "status": "FAILED",
        "reason": "ValueError: no rows",
    }


def test_finishing_twice_completes_once(submitted, eager, tmp_path):
    eager(end_execution, submitted.execution_id, artifacts={"scores.csv": b"x"}, tmp_path=tmp_path)
    services.finish_submission(submitted.pk)
    execution_finished.send(sender=None, execution_id=submitted.execution_id, status="SUCCEEDED")
    assert statuses(submitted.batch).count("COMPLETED") == 1


def test_the_sweep_finishes_a_submission_whose_signal_was_lost(submitted, tmp_path):
    # Not run on commit: the signal is lost, as with a process killed between commit and send.
    end_execution(submitted.execution_id, artifacts={"scores.csv": b"x"}, tmp_path=tmp_path)
    assert Submission.objects.get(pk=submitted.pk).status == SubmissionStatus.PROCESSING
    assert services.sweep_submissions() == {"started": 0, "finished": 0}  # too recent to be a lost one
    later = timezone.now() + timedelta(minutes=5)
    assert services.sweep_submissions(now=later) == {"started": 0, "finished": 1}
    assert Submission.objects.get(pk=submitted.pk).status == SubmissionStatus.COMPLETED
    assert services.sweep_submissions(now=later) == {"started": 0, "finished": 0}


def test_the_sweep_starts_a_submission_whose_start_was_lost(organisation, scoring):
    batch = profiled_batch(organisation)
    # Not run on commit: the start is lost.
    submission = services.submit_profiled_batch(
        organisation=organisation, batch_key=batch.batch_key, submission_type=scoring
    )
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.RECEIVED
    assert services.sweep_submissions(now=timezone.now() + timedelta(minutes=5)) == {"started": 1, "finished": 0}
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.PROCESSING


def test_a_processor_that_cannot_run_fails_the_submission_with_the_reason(organisation, scoring, processor, eager):
    plugin_services.update_instance(instance=processor, user=None, archived=True)
    batch = profiled_batch(organisation)
    submission = eager(
        services.submit_profiled_batch, organisation=organisation, batch_key=batch.batch_key, submission_type=scoring
    )
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.FAILED
    assert submission.failure_reason.startswith("the processor could not start:")


def test_resubmitting_runs_the_processor_again_for_the_same_batch(submitted, eager, tmp_path):
    eager(end_execution, submitted.execution_id, "FAILED", error={"message": "boom"}, tmp_path=tmp_path)
    first_execution = submitted.execution_id
    assert eager(services.resubmit, submission=Submission.objects.get(pk=submitted.pk)) is True
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.PROCESSING
    assert submitted.execution_id != first_execution and submitted.runs == 2
    assert services.resubmit(submission=submitted) is False  # not finished: left alone


def test_an_illegal_move_is_refused():
    submission = Submission(status=SubmissionStatus.RECEIVED)
    with pytest.raises(Conflict):
        services.transition(submission, to=SubmissionStatus.COMPLETED)


def test_results_are_removed_after_the_retention_period(submitted, eager, tmp_path, settings):
    settings.SOLUTIONS_RESULTS_RETENTION_DAYS = 30
    eager(end_execution, submitted.execution_id, artifacts={"scores.csv": b"x"}, tmp_path=tmp_path)
    submitted.refresh_from_db()
    assert services.purge_expired_results(now=timezone.now() + timedelta(days=29)) == 0
    assert eager(services.purge_expired_results, now=timezone.now() + timedelta(days=31)) == 1
    assert not Submission.objects.filter(pk=submitted.pk).exists()
    assert not default_storage.exists(submitted.results_name)
    assert FileBatch.objects.filter(pk=submitted.batch_id).exists()  # the batch and its profile stay


def test_packing_held_by_a_live_worker_is_left_to_it_and_retaken_once_its_lease_is_over(submitted, tmp_path):
    end_execution(submitted.execution_id, artifacts={"scores.csv": b"x"}, tmp_path=tmp_path)  # signal lost
    held_until = timezone.now() + timedelta(minutes=15)
    Submission.objects.filter(pk=submitted.pk).update(lease_until=held_until)  # a packer killed midway
    services.finish_submission(submitted.pk)
    assert Submission.objects.get(pk=submitted.pk).status == SubmissionStatus.PROCESSING
    assert services.sweep_submissions(now=timezone.now() + timedelta(minutes=5)) == {"started": 0, "finished": 0}
    assert services.sweep_submissions(now=held_until + timedelta(seconds=1)) == {"started": 0, "finished": 1}
    done = Submission.objects.get(pk=submitted.pk)
    assert (done.status, done.lease_until) == (SubmissionStatus.COMPLETED, None)
    assert statuses(done.batch).count("COMPLETED") == 1


def test_a_rolled_back_delete_keeps_the_results_zip_its_row_still_names(submitted, eager, tmp_path):
    from django.db import transaction

    eager(end_execution, submitted.execution_id, artifacts={"scores.csv": b"x"}, tmp_path=tmp_path)
    submitted.refresh_from_db()

    def delete_then_fail():
        with transaction.atomic():
            Submission.objects.filter(pk=submitted.pk).delete()
            raise RuntimeError("the operator's delete failed")

    with pytest.raises(RuntimeError):
        eager(delete_then_fail)
    assert Submission.objects.filter(pk=submitted.pk).exists()
    assert default_storage.exists(submitted.results_name)


def test_a_packer_whose_lease_ran_out_never_deletes_the_zip_its_successor_completed_with(
    submitted, tmp_path, monkeypatch
):
    from profiling import results

    end_execution(submitted.execution_id, artifacts={"scores.csv": b"x"}, tmp_path=tmp_path)  # signal lost
    pack = results.pack_results
    later = timezone.now() + timedelta(seconds=settings_lease() + 60)

    def slow_pack(**kwargs):
        # While this (first) packer packs, its lease runs out and the sweep's packer finishes first.
        monkeypatch.setattr(results, "pack_results", pack)
        packed = pack(**kwargs)
        services.finish_submission(submitted.pk, now=later)
        return packed

    monkeypatch.setattr(results, "pack_results", slow_pack)
    services.finish_submission(submitted.pk)
    done = Submission.objects.get(pk=submitted.pk)
    assert done.status == SubmissionStatus.COMPLETED
    assert default_storage.exists(done.results_name)
    with zipfile.ZipFile(default_storage.open(done.results_name, "rb")) as archive:
        assert archive.read("scores.csv") == b"x"
    # The first packer's zip went with it: one results zip for the submission in the storage.
    folder = done.results_name.rsplit("/", 1)[0]
    assert default_storage.listdir(folder)[1] == [done.results_name.rsplit("/", 1)[1]]
    assert statuses(done.batch).count("COMPLETED") == 1


def test_a_packer_killed_midway_leaves_no_zip_behind_once_another_finishes(submitted, tmp_path):
    from profiling import results

    end_execution(submitted.execution_id, artifacts={"scores.csv": b"x"}, tmp_path=tmp_path)
    # A packer claimed, wrote its zip and was killed before completing: its lease runs out.
    leftover = results.results_name_for(submitted)
    default_storage.save(leftover, io.BytesIO(b"partial"))
    Submission.objects.filter(pk=submitted.pk).update(lease_until=timezone.now(), results_name=leftover)
    services.finish_submission(submitted.pk, now=timezone.now() + timedelta(seconds=1))
    done = Submission.objects.get(pk=submitted.pk)
    assert done.status == SubmissionStatus.COMPLETED and done.results_name != leftover
    assert not default_storage.exists(leftover)


def settings_lease() -> int:
    from django.conf import settings

    return settings.SOLUTIONS_PACKING_LEASE_SECONDS


def test_one_submission_the_sweep_cannot_start_does_not_stop_it_for_the_others(organisation, scoring, monkeypatch):
    from django.db import OperationalError

    lost = [
        services.submit_profiled_batch(
            organisation=organisation, batch_key=profiled_batch(organisation).batch_key, submission_type=scoring
        )
        for _ in range(2)
    ]
    start = plugin_services.start_processor_execution
    calls = []

    def first_start_fails(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("deadlock detected")
        return start(**kwargs)

    monkeypatch.setattr(plugin_services, "start_processor_execution", first_start_fails)
    services.sweep_submissions(now=timezone.now() + timedelta(minutes=5))
    moved = sorted(Submission.objects.filter(pk__in=[s.pk for s in lost]).values_list("status", flat=True))
    assert moved == [SubmissionStatus.PROCESSING, SubmissionStatus.RECEIVED]
    services.sweep_submissions(now=timezone.now() + timedelta(minutes=5))  # the next sweep takes the other
    assert set(Submission.objects.filter(pk__in=[s.pk for s in lost]).values_list("status", flat=True)) == {
        SubmissionStatus.PROCESSING
    }
