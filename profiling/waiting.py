"""How a subscription waits for profiling events: the one place that knows the mechanism.

Today: batchplatform.events.wait_for_events (the event table read by cursor, woken by the channel
layer). The core's long-poll hub (issue 8) replaces it here, and only here, once it lands.
"""

from batchplatform.events import wait_for_events
from profiling.conf import EVENT_STREAM


async def wait_for_matching_events(*, organisation_id: int, filters: dict, after: int, timeout: float, limit: int):
    return await wait_for_events(
        organisation_id=organisation_id,
        stream=EVENT_STREAM,
        after=after,
        filters=filters,
        timeout=timeout,
        limit=limit,
    )
