# Not named `platform`: that would shadow the standard library module Django needs at start-up.
from batchplatform.celery import app as celery_app

__all__ = ["celery_app"]
