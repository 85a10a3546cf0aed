"""The routine lines of frequent periodic tasks (every minute or more often) go unprinted unless
LOG_LEVEL=DEBUG.

The schedule sweep runs every second: Celery would log three INFO lines a second for it (beat's
"Sending due task", the worker's "received" and "succeeded"), burying what an operator needs.
Failures are ERROR lines and always pass.
"""

import logging

ROUTINE_LOGGERS = frozenset({"celery.beat", "celery.worker.strategy", "celery.app.trace"})


class QuietRoutineTasks(logging.Filter):
    def __init__(self, tasks=()):
        super().__init__()
        self.tasks = tuple(tasks)

    def filter(self, record):
        if record.levelno != logging.INFO or record.name not in ROUTINE_LOGGERS or not self.tasks:
            return True
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            return True
        message = record.getMessage()
        return not any(task in message for task in self.tasks)
