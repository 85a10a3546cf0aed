import pytest

from batches.models import AssignedService, Service, Subscription
from batchplatform.celery import app as celery_app
from tests.network_element import NetworkElement

# The seed's example request, as written.
SEED_BATCH = {
    "type": "single",
    "requests": [
        {
            "method": "POST",
            "resource": "subscriptions",
            "body": {"msisdn": "46708421499", "iccid": "89461177710001700003"},
            "requestid": "127322",
        },
        {
            "method": "PATCH",
            "resource": "subscriptions/msisdn:46708421488",
            "body": {"blocked": True},
            "requestid": "127323",
        },
        {
            "method": "POST",
            "resource": "subscriptions/msisdn:46708421466/services",
            "body": {"id": "Data1G", "limit": "100"},
            "requestid": "127324",
        },
        {
            "method": "POST",
            "resource": "subscriptions/msisdn:46708421477/services",
            "body": {"limit": 100},
            "requestid": "127325",
        },
    ],
}


def submit(ecc, body, **headers):
    return ecc.post("/ecc/v1/batches", body, format="json", **headers)


@pytest.fixture
def eager(settings, django_capture_on_commit_callbacks):
    """Tasks run inline when their transaction commits: a batch is processed to its end within
    the call that submitted it (the real worker is exercised in test_worker.py)."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True  # a failing task fails the test

    class Runner:
        def __call__(self, function, *args, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return function(*args, **kwargs)

    yield Runner()
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_eager_propagates = False


@pytest.fixture
def data1g(organisation):
    return Service.objects.create(
        organisation=organisation, sid="Data1G", service_type="bucket", multiple_instances=True
    )


@pytest.fixture
def subscriptions(organisation, data1g):
    """The seed's starting data: 46708421488 and 46708421466 exist, 46708421477 does too."""
    made = {}
    for n, msisdn in enumerate(["46708421488", "46708421477", "46708421466"]):
        made[msisdn] = Subscription.objects.create(
            organisation=organisation, msisdn=msisdn, iccid=f"8946117771000170{n:04d}"
        )
    return made


@pytest.fixture
def foreign_subscription(other_organisation):
    return Subscription.objects.create(
        organisation=other_organisation, msisdn="46700000001", iccid="89461177710009999999"
    )


def assigned(subscription) -> list[str]:
    return sorted(str(a) for a in AssignedService.objects.filter(subscription=subscription))


@pytest.fixture(autouse=True)
def global_services(db):
    """The catalogue's global services come from a data migration; a transactional test's flush
    removes them, so every test here puts them back."""
    from importlib import import_module

    from django.apps import apps

    import_module("batches.migrations.0002_global_services").add_global_services(apps, None)


@pytest.fixture
def element(settings):
    """A network element of the test's own on loopback (the network boundary), answering these statuses."""
    made = []

    def make(*statuses):
        scripted = NetworkElement(*statuses)
        made.append(scripted)
        settings.ECC_PROVISIONER = "http"
        settings.ECC_PROVISIONER_URL = scripted.url
        settings.ECC_PROVISIONER_RETRIES = 2
        settings.ECC_PROVISIONER_BACKOFF = 0.01
        settings.ECC_PROVISIONER_TIMEOUT = 2
        return scripted

    yield make
    for scripted in made:
        scripted.close()
