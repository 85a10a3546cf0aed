"""The plugins app tells us an execution ended: its submission is finished by a worker.

Only a wake-up: the submissions sweep finishes what a lost signal (or a lost task) left.
"""

import logging

from django.dispatch import receiver

from plugins.signals import execution_finished

logger = logging.getLogger(__name__)


@receiver(execution_finished, dispatch_uid="profiling.finish_submissions")
def finish_submissions_of_execution(sender, execution_id: int, status: str, **kwargs):
    from profiling import dispatch, services

    for submission_id in services.on_execution_finished(execution_id=execution_id):
        dispatch.enqueue_finish_submission(submission_id)
