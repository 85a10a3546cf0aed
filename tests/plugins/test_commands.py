from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from plugins import services


def status(*args) -> str:
    out = StringIO()
    call_command("schedule_status", *args, stdout=out)
    return out.getvalue()


def test_schedule_status_prints_what_is_due_and_what_is_late(instance, member):
    with time_machine.travel(datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False) as clock:
        services.update_instance(instance=instance, user=member, cron="* * * * *")
        services.create_execution(
            instance=instance, user=member, expected_start_date=datetime(2026, 6, 1, 11, 0, tzinfo=UTC)
        )
        clock.move_to(datetime(2026, 6, 1, 12, 1, 5, tzinfo=UTC))
        text = status()
    assert "instances due: 1, of which late: 0" in text
    assert "executions due, never sent: 1" in text
    assert "LATE execution" in text  # due since 11:00 and never sent
    with time_machine.travel(datetime(2026, 6, 1, 12, 2, tzinfo=UTC), tick=False):
        text = status("--late-after", "30")
    assert "instances due: 1, of which late: 1" in text
    assert f"LATE instance {instance.pk} 'nightly import' cron '* * * * *' (UTC)" in text
    assert "is the beat running" in text


def test_schedule_status_refuses_a_bad_argument(db):
    with pytest.raises(CommandError, match="expected a number of seconds"):
        status("--late-after", "soon")
