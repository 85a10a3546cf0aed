"""Property values are written in the admin only through services.set_instance_property: the
inlines are read-only, and the "set a property" page refuses what the API refuses."""

import pytest

from plugins import services
from plugins.models import InstancePropertyValue, PluginProperty


@pytest.fixture
def operator(client, staff):
    client.force_login(staff)
    return client


def instance_form(instance, **extra) -> dict:
    return {
        "name": instance.name,
        "version": instance.version_id,
        "cron": instance.cron or "",
        "cron_status": instance.cron_status or "",
        "timezone": instance.timezone,
        "overlap_policy": instance.overlap_policy,
        "ram_size": instance.ram_size,
        "cpu_size": instance.cpu_size,
        "disk_size": instance.disk_size,
        **extra,
    }


def stored_values(instance) -> dict:
    return dict(InstancePropertyValue.objects.filter(instance=instance).values_list("technical_name", "value"))


def test_a_forged_inline_post_neither_stores_a_bad_int_nor_overrides_a_static_property(operator, instance):
    services.set_instance_property(instance=instance, technical_name="batch_size", value={"value": 5})
    row = InstancePropertyValue.objects.get(instance=instance)
    forged = instance_form(
        instance,
        **{
            "property_values-TOTAL_FORMS": "2",
            "property_values-INITIAL_FORMS": "1",
            "property_values-0-id": str(row.pk),
            "property_values-0-instance": str(instance.pk),
            "property_values-0-technical_name": "batch_size",
            "property_values-0-value": '{"value": "not an int"}',
            "property_values-1-instance": str(instance.pk),
            "property_values-1-technical_name": "provider",
            "property_values-1-value": '{"value": "someone else"}',
        },
    )
    operator.post(f"/admin/plugins/integrationbatchinstance/{instance.pk}/change/", forged)
    assert stored_values(instance) == {"batch_size": {"value": 5}}


def test_a_forged_inline_post_does_not_change_what_a_version_declares(operator, version):
    prop = version.properties.get(technical_name="batch_size")
    forged = {
        "build_tag": "",
        "archived": "",
        "properties-TOTAL_FORMS": "1",
        "properties-INITIAL_FORMS": "1",
        "properties-0-id": str(prop.pk),
        "properties-0-version": str(version.pk),
        "properties-0-technical_name": "batch_size",
        "properties-0-property_type": "INT",
        "properties-0-origin": "INSTANCE",
        "properties-0-value": '{"value": "not an int"}',
        "properties-0-writable": "on",
    }
    operator.post(f"/admin/plugins/pluginversion/{version.pk}/change/", forged)
    assert PluginProperty.objects.get(pk=prop.pk).value == {"value": 100}


def test_the_instance_page_lists_its_properties_and_links_to_setting_one(operator, instance):
    page = operator.get(f"/admin/plugins/integrationbatchinstance/{instance.pk}/change/").content.decode()
    assert "batch_size" in page and "one_more_property" in page
    assert f"/admin/plugins/integrationbatchinstance/{instance.pk}/property/" in page


def test_setting_a_property_in_the_admin_goes_through_the_service(operator, instance):
    url = f"/admin/plugins/integrationbatchinstance/{instance.pk}/property/"
    response = operator.post(url, {"technical_name": "batch_size", "value": '{"value": 250}'})
    assert response.status_code == 302
    assert stored_values(instance) == {"batch_size": {"value": 250}}


@pytest.mark.parametrize(
    ("technical_name", "value", "refusal"),
    [
        ("batch_size", '{"value": "not an int"}', "batch_size: "),
        ("provider", '{"value": "someone else"}', "is not writable"),
    ],
)
def test_the_admin_refuses_what_the_service_refuses(operator, instance, technical_name, value, refusal):
    url = f"/admin/plugins/integrationbatchinstance/{instance.pk}/property/"
    response = operator.post(url, {"technical_name": technical_name, "value": value})
    assert response.status_code == 200
    assert refusal in response.content.decode()
    assert stored_values(instance) == {}
