"""Receivers: the plugins app tells us an execution ended; a deleted row takes its file along.

Only wake-ups and clean-ups: the submissions sweep finishes what a lost signal (or a lost task) left.
"""

import logging

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from plugins.signals import execution_finished
from profiling import results, storage
from profiling.models import FileBatch, Submission

logger = logging.getLogger(__name__)


@receiver(execution_finished, dispatch_uid="profiling.finish_submissions")
def finish_submissions_of_execution(sender, execution_id: int, status: str, **kwargs):
    from profiling import dispatch, services

    for submission_id in services.on_execution_finished(execution_id=execution_id):
        dispatch.enqueue_finish_submission(submission_id)


# However a row goes (retention, an operator deleting a batch in the admin, which cascades to its
# submissions, an organisation removed), its zip in the storage goes too, once the delete commits:
# a rolled-back delete keeps the file its row still names.
@receiver(post_delete, sender=Submission, dispatch_uid="profiling.delete_results_zip")
def delete_results_zip(sender, instance: Submission, **kwargs):
    if instance.results_name:
        transaction.on_commit(lambda: results.delete_results(instance.results_name), robust=True)


@receiver(post_delete, sender=FileBatch, dispatch_uid="profiling.delete_batch_zip")
def delete_batch_zip(sender, instance: FileBatch, **kwargs):
    if instance.zip_name:
        transaction.on_commit(lambda: storage.delete_zip(instance.zip_name), robust=True)
