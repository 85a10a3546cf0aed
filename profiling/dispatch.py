"""Waking the profiling tasks: the services (and the execution_finished receiver) call these after
their transaction commits (the row is the truth; the message only wakes a worker, the sweeps
re-send a lost one).

The tasks are looked up by name in the Celery app, so the services never import profiling.tasks
(which imports them): ProfilingConfig.ready registers the tasks module in every process. `.delay`
keeps the task's routing (CELERY_TASK_ROUTES) and task_always_eager in tests."""

from batchplatform.celery import app

PROFILE_BATCH = "profiling.tasks.profile_batch_task"
FINISH_SUBMISSION = "profiling.tasks.finish_submission_task"


def enqueue_profile(batch_id: int) -> None:
    app.tasks[PROFILE_BATCH].delay(batch_id)


def enqueue_finish_submission(submission_id: int) -> None:
    app.tasks[FINISH_SUBMISSION].delay(submission_id)
