import os

from celery import Celery

from batchplatform import broker  # noqa: F401  (registers the safefs:// transport)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "batchplatform.settings")

app = Celery("batchplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
