"""Files go through Django's storage API; in production an S3-compatible store, tested against
moto's server on loopback (the network boundary: the only part that is not ours)."""

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from moto.server import ThreadedMotoServer

from batchplatform.storage_url import storage_from_url
from tests.harness import free_port


@pytest.fixture
def s3_endpoint(monkeypatch):
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="batchplatform")
    yield endpoint
    server.stop()


def test_files_saved_through_storage_url_land_in_the_bucket(s3_endpoint, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": storage_from_url(f"s3://batchplatform/uploads?endpoint_url={s3_endpoint}&region_name=us-east-1"),
    }
    storage = storages["default"]
    name = storage.save("batches/input.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18))
    again = storage.save("batches/input.zip", ContentFile(b"second"))
    assert again != name  # never overwrite a client's file

    # Another machine (a plain S3 client) reads the same object.
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    body = s3.get_object(Bucket="batchplatform", Key=f"uploads/{name}")["Body"].read()
    assert body.startswith(b"PK")
    with storage.open(name) as stored:
        assert stored.read() == body
    storage.delete(name)
    assert not storage.exists(name)
