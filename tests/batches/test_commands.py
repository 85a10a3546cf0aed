from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from batches.models import Batch, BatchRequest, Service


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_defineservice_defines_an_organisations_bucket(organisation):
    output = run(
        "defineservice", "acme", "TopUp500M", "--type", "bucket", "--multiple-instances", "--description", "500 MB"
    )
    assert output == "TopUp500M\n"
    service = Service.objects.get(sid="TopUp500M")
    assert (service.organisation, service.service_type, service.multiple_instances, service.description) == (
        organisation,
        "bucket",
        True,
        "500 MB",
    )


def test_the_same_sid_may_be_defined_by_two_organisations(organisation, other_organisation):
    run("defineservice", "acme", "Data1G", "--type", "recurring-bucket")
    run("defineservice", "globex", "Data1G", "--type", "bucket")
    assert sorted(Service.objects.filter(sid="Data1G").values_list("organisation__slug", "service_type")) == [
        ("acme", "recurring-bucket"),
        ("globex", "bucket"),
    ]
    assert Service.objects.get(sid="Data1G", organisation=organisation).multiple_instances is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "Data1G", "--type", "bucket"], "No organisation 'nope'"),
        (["acme", "Data 1G", "--type", "bucket"], "Invalid service id 'Data 1G'"),
        (["acme", "x" * 101, "--type", "bucket"], "Invalid service id"),
        (["acme", "Data1G", "--type", "teleservice"], "invalid choice: 'teleservice'"),
        (["acme", "Data1G"], "--type"),
        (["acme", "cfu", "--type", "bucket"], "'cfu' is a global service id"),
        (["acme", "Data1G", "--type", "bucket", "--description", "d" * 201], "longer than 200"),
    ],
)
def test_defineservice_fails_with_a_clear_message(organisation, args, message):
    with pytest.raises(CommandError, match=message):
        run("defineservice", *args)
    assert not Service.objects.filter(organisation__isnull=False).exists()


def test_defineservice_refuses_a_duplicate(organisation):
    run("defineservice", "acme", "Data1G", "--type", "bucket")
    with pytest.raises(CommandError, match="'acme' already has a service 'Data1G'"):
        run("defineservice", "acme", "Data1G", "--type", "recurring-bucket")
    assert Service.objects.get(sid="Data1G").service_type == "bucket"


def test_sids_are_case_sensitive(organisation):
    run("defineservice", "acme", "data1g", "--type", "bucket")
    run("defineservice", "acme", "Data1G", "--type", "bucket")
    assert Service.objects.filter(organisation=organisation).count() == 2


def make_batch(organisation, age_days: float, requests: int = 1) -> Batch:
    batch = Batch.objects.create(organisation=organisation, status="COMPLETED")
    for position in range(requests):
        BatchRequest.objects.create(batch=batch, position=position, method="PATCH", resource="x", status="COMPLETED")
    # created_at is auto_now_add: age the row afterwards.
    Batch.objects.filter(pk=batch.pk).update(created_at=timezone.now() - timedelta(days=age_days))
    return batch


def test_purge_batches_removes_batches_older_than_the_given_days(organisation):
    old = make_batch(organisation, age_days=10)
    younger = make_batch(organisation, age_days=6)
    fresh = make_batch(organisation, age_days=0)

    output = run("purge_batches", "--older-than", "7")

    assert "older than 7 day(s)" in output
    assert set(Batch.objects.values_list("pk", flat=True)) == {younger.pk, fresh.pk}
    assert not BatchRequest.objects.filter(batch_id=old.pk).exists()


def test_purge_batches_defaults_to_the_retention_setting(organisation, settings):
    settings.ECC_BATCH_RETENTION_DAYS = 30
    make_batch(organisation, age_days=31)
    kept = make_batch(organisation, age_days=29)
    assert "older than 30 day(s)" in run("purge_batches")
    assert list(Batch.objects.values_list("pk", flat=True)) == [kept.pk]


def test_purge_batches_prints_how_many_batches_were_removed(organisation):
    make_batch(organisation, age_days=10, requests=3)
    make_batch(organisation, age_days=10, requests=2)
    assert run("purge_batches", "--older-than", "7") == "Removed 2 batch(es) older than 7 day(s).\n"


@pytest.mark.parametrize("days", ["0", "-3", "seven", "1.5"])
def test_purge_batches_wants_a_positive_number_of_days(organisation, days):
    batch = make_batch(organisation, age_days=10)
    with pytest.raises(CommandError, match="DAYS must be a positive integer"):
        run("purge_batches", "--older-than", days)
    assert Batch.objects.filter(pk=batch.pk).exists()
