import argparse

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from plugins import scheduler


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}")
    return value


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return int(text)


def ago(now, moment) -> str:
    return f"{(now - moment).total_seconds():.1f} s ago"


class Command(BaseCommand):
    help = (
        "What the scheduler has due and what is late: instances whose tick the sweep has not handled, "
        "executions due but not sent, messages presumed lost. Reads the database only."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--late-after", type=seconds, default=10.0, metavar="SECONDS", help="due for longer than this is late (10)"
        )
        parser.add_argument("--limit", type=positive, default=20, help="how many late rows to list (20)")

    def handle(self, *args, late_after, limit, **options):
        now = timezone.now()
        status = scheduler.schedule_status(now=now, late_after=late_after, limit=limit)
        out = self.stdout.write
        interval = settings.SCHEDULER_SWEEP_INTERVAL
        out(f"now: {now.isoformat()}  (sweep every {interval:g} s; late: due for more than {late_after:g} s)")
        out(f"instances due: {status['due_instances']}, of which late: {status['late_instances']}")
        for row in status["late"]:
            out(
                f"  LATE instance {row['id']} {row['name']!r} cron {row['cron']!r} ({row['timezone']}): "
                f"tick {row['next_tick_at'].isoformat()}, {ago(now, row['next_tick_at'])}"
            )
        if status["unscheduled_active_instances"]:
            out(
                f"active instances without a next tick: {status['unscheduled_active_instances']} "
                "(written around the services; the periodic reconcile schedules them)"
            )
        coming = status["next_tick_at"]
        out(f"next tick: {coming.isoformat() if coming else 'none'}")
        out(f"executions due, never sent: {status['unsent_due_executions']}")
        for row in status["late_unsent"]:
            out(
                f"  LATE execution {row['id']} of instance {row['instance_id']} ({row['execution_type']}): "
                f"expected {row['expected_start_date'].isoformat()}, {ago(now, row['expected_start_date'])}"
            )
        out(f"executions sent, not started yet: {status['sent_not_started']}")
        out(
            f"  of which presumed lost (sent > {settings.SCHEDULER_RESEND_AFTER} s ago, sent again by the sweep): "
            f"{status['lost_messages']}"
        )
        out(f"executions running: {status['running']}")
        if status["late_instances"] or status["late_unsent"]:
            out("LATE: is the beat running (exactly one), and a worker on the default queue?")
