"""A running full profile's lease, renewed while its worker lives.

The lease can then be short (PROFILING_LEASE_SECONDS): a worker killed mid-profile stops renewing,
and the sweep hands the batch to another worker within a lease and a sweep, not after the longest
profile one could imagine. A renewal is conditional on the lease still being ours, so a run whose
lease ran out (and was taken over) never takes it back; its result is then thrown away by _finish.
"""

import logging
import threading
from datetime import timedelta

from django.db import DatabaseError, connection
from django.utils import timezone

from profiling.models import FileBatch, ProfileStatus

logger = logging.getLogger(__name__)


class Lease:
    def __init__(self, batch_id: int, *, until, seconds: int, interval: float | None = None):
        self.batch_id = batch_id
        self.until = until
        self.seconds = seconds
        self.interval = interval if interval is not None else max(1.0, seconds / 3)
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name=f"lease-{batch_id}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False

    def _keep(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                if not self._renew():
                    return
        finally:
            connection.close()  # this thread's own connection

    def _renew(self) -> bool:
        """False once the lease is no longer ours."""
        until = timezone.now() + timedelta(seconds=self.seconds)
        try:
            renewed = FileBatch.objects.filter(
                pk=self.batch_id, status=ProfileStatus.PROFILING, lease_until=self.until
            ).update(lease_until=until)
        except DatabaseError:
            # A database restart: try again at the next turn, while the lease still runs.
            logger.warning("the lease of batch %s could not be renewed now", self.batch_id, exc_info=True)
            connection.close()
            return True
        if not renewed:
            self.lost = True
            logger.warning("batch %s: its profile's lease was lost; this run's result will be discarded", self.batch_id)
            return False
        self.until = until
        return True
