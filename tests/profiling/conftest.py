import pytest

from batchplatform.celery import app as celery_app


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploaded zips land in this test's own folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    return tmp_path


@pytest.fixture
def eager(django_capture_on_commit_callbacks):
    """The full profile runs inline when the upload commits (the real worker: test_worker.py)."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True

    class Runner:
        def __call__(self, function, *args, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return function(*args, **kwargs)

    yield Runner()
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_eager_propagates = False
