import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from batchplatform.errors import DomainError
from plugins import execution_files, services
from plugins.models import Execution, ExecutionStatus

# How often the log is read back from storage while the execution runs.
FOLLOW_INTERVAL = 0.2


class Command(BaseCommand):
    help = (
        "Run one PENDING, due execution here, in the foreground, as a worker would (the same runner, "
        "sandbox and limits), printing its log as it goes. Ctrl-C cancels it. Exit status 1 unless it SUCCEEDED."
    )

    def add_arguments(self, parser):
        parser.add_argument("execution_id", type=int)

    def handle(self, *args, execution_id: int, **options):
        execution = Execution.objects.filter(pk=execution_id).first()
        if execution is None:
            raise CommandError(f"No execution {execution_id}")
        if execution.status != ExecutionStatus.PENDING:
            raise CommandError(f"Execution {execution_id} is {execution.status}: only a PENDING execution can run")

        outcome: dict = {}
        done = threading.Event()
        runner = threading.Thread(
            target=self._run, args=(execution_id, outcome, done), name=f"execution-{execution_id}"
        )
        runner.start()
        offset = 0
        try:
            offset = self._follow(execution, offset, done)
        except KeyboardInterrupt:
            self.stderr.write(f"Canceling execution {execution_id}...")
            try:
                services.cancel_execution(execution=Execution.objects.get(pk=execution_id))
            except DomainError as error:
                self.stderr.write(error.message)
            offset = self._follow(execution, offset, done)
        runner.join()
        if "error" in outcome:
            raise outcome["error"]
        self._print_log(execution, offset)
        return self._report(execution_id, ran=outcome.get("execution") is not None)

    @staticmethod
    def _run(execution_id: int, outcome: dict, done: threading.Event) -> None:
        try:
            outcome["execution"] = services.run_execution(execution_id=execution_id)
        except BaseException as error:  # handed to the main thread, which raises it
            outcome["error"] = error
        finally:
            connection.close()  # this thread's own connection
            done.set()

    def _follow(self, execution: Execution, offset: int, done: threading.Event) -> int:
        # An Event, not Thread.join(timeout): a join interrupted by Ctrl-C can leave is_alive() wrong.
        while not done.is_set():
            offset = self._print_log(execution, offset)
            done.wait(FOLLOW_INTERVAL)
        return offset

    def _print_log(self, execution: Execution, offset: int) -> int:
        while True:
            chunk = execution_files.read_log(execution=execution, offset=offset)
            if not chunk.data:
                return offset
            self.stdout.write(chunk.text, ending="")
            self.stdout.flush()
            offset = chunk.next_offset

    def _report(self, execution_id: int, *, ran: bool) -> None:
        execution = Execution.objects.get(pk=execution_id)
        if not ran:
            due = execution.expected_start_date.isoformat()
            raise CommandError(
                f"Execution {execution_id} did not run here: it is {execution.status}"
                + (f" and not due before {due}" if execution.status == ExecutionStatus.PENDING else "")
            )
        progress = f"{execution.completed_tasks}/{execution.num_tasks} tasks, {execution.erroneous_tasks} erroneous"
        self.stderr.write(f"Execution {execution_id}: {execution.status} ({progress})")
        if execution.result is not None:
            self.stderr.write(f"result: {execution.result}")
        if execution.error:
            self.stderr.write(f"error: {execution.error.get('message')}")
        if execution.status != ExecutionStatus.SUCCEEDED:
            raise CommandError(f"Execution {execution_id} ended {execution.status}")
