"""The profiler's bounds, from the settings block "File batches" (batchplatform/settings.py)."""

from django.conf import settings

from profiling.profiler.limits import ProfileLimits

EVENT_STREAM = "profiling"
PRELIMINARY_EVENT = "preliminaryProfile"
UPDATED_EVENT = "profileUpdatedEvent"
# Submissions (RECEIVED, PROCESSING, COMPLETED, FAILED), on the same stream as the profile events.
BATCH_UPDATED_EVENT = "batchUpdatedEvent"


def profile_limits() -> ProfileLimits:
    return ProfileLimits(
        max_members=settings.PROFILING_MAX_MEMBERS,
        max_uncompressed_bytes=settings.PROFILING_MAX_UNCOMPRESSED_BYTES,
        max_compression_ratio=settings.PROFILING_MAX_COMPRESSION_RATIO,
        memory_limit=settings.PROFILING_MEMORY_LIMIT,
        threads=settings.PROFILING_THREADS,
    )
