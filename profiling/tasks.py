"""Thin tasks: fetch by id, call the service. Each can run twice (acks_late re-delivers after a crash)."""

from celery import shared_task

from profiling import services


@shared_task(acks_late=True)
def profile_batch_task(batch_id: int) -> None:
    services.profile_batch(batch_id)


@shared_task
def sweep() -> dict:
    return services.sweep()


@shared_task(acks_late=True)
def finish_submission_task(submission_id: int) -> None:
    services.finish_submission(submission_id)


@shared_task
def sweep_submissions() -> dict:
    return services.sweep_submissions()


@shared_task
def purge_expired_results() -> int:
    return services.purge_expired_results()
