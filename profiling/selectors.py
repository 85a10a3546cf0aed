"""Reads the API and the admin share."""

import uuid

from batchplatform.models import Event, Organisation
from profiling.conf import EVENT_STREAM
from profiling.models import FileBatch, ProfileStatus


def batch_of(*, organisation: Organisation, batch_key: uuid.UUID) -> FileBatch | None:
    return (
        FileBatch.objects.select_related("organisation").filter(organisation=organisation, batch_key=batch_key).first()
    )


def profile_document(batch: FileBatch) -> dict:
    """What GET .../profile answers: the full profile once there is one, else the preliminary one."""
    document = {
        "batchKey": str(batch.batch_key),
        "customer": batch.organisation.slug,
        "status": batch.status,
        "createdAt": batch.created_at.isoformat(),
        "profiledAt": batch.profiled_at.isoformat() if batch.profiled_at else None,
    }
    if batch.status == ProfileStatus.FAILED:
        document["reason"] = batch.failure_reason
    document["profile"] = batch.profile if batch.profile is not None else batch.preliminary_profile
    return document


def events_of(batch: FileBatch):
    return Event.objects.filter(
        organisation_id=batch.organisation_id, stream=EVENT_STREAM, attributes__batchKey=str(batch.batch_key)
    ).order_by("sequence")
