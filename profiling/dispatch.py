"""Waking the profiling tasks, after their transaction commits (batchplatform.wake): the services
(and the execution_finished receiver) never import profiling.tasks, which ProfilingConfig.ready
registers in every process, and the sweeps re-send what a lost (or never sent) message left."""

from batchplatform.wake import wake

PROFILE_BATCH = "profiling.tasks.profile_batch_task"
FINISH_SUBMISSION = "profiling.tasks.finish_submission_task"


def enqueue_profile(batch_id: int) -> None:
    wake(PROFILE_BATCH, batch_id)


def enqueue_finish_submission(submission_id: int) -> None:
    wake(FINISH_SUBMISSION, submission_id)
