"""Selectors take the user who asks (no request): a runner, a task or another app can call them."""

import pytest

from batchplatform.errors import NotFound
from plugins import selectors, services


def test_a_member_reads_their_organisations_instances_and_executions(member, instance):
    execution = services.run_now(instance=instance, user=None)
    assert selectors.instance_for(user=member, instance_id=instance.pk) == instance
    assert list(selectors.instances_for(user=member)) == [instance]
    found = selectors.execution_for(user=member, instance_id=instance.pk, execution_id=execution.pk)
    assert found == execution
    version = selectors.version_for(user=member, plugin_id=instance.version.plugin_id, version_ref="1.0.0")
    assert version == instance.version


def test_another_organisations_objects_are_not_found(member, foreign_instance):
    with pytest.raises(NotFound):
        selectors.instance_for(user=member, instance_id=foreign_instance.pk)
    with pytest.raises(NotFound):
        selectors.plugin_for(user=member, plugin_id=foreign_instance.version.plugin_id)
    assert not selectors.executions_for(user=member).exists()


def test_staff_read_every_organisations_objects(staff, foreign_instance):
    assert selectors.instance_for(user=staff, instance_id=foreign_instance.pk) == foreign_instance
