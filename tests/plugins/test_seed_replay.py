"""The seed's curls (shared/seeds/integration-batch.md), as written, against a live server with a
token of ours: only the placeholders are replaced by real values. The shell commands are run by
bash and curl, as a client would."""

import subprocess

import pytest

from plugins.models import Execution, IntegrationBatchInstance

pytestmark = pytest.mark.django_db(transaction=True)

CREATE_PLUGIN = """curl -X POST \\
  https://api.mediarithmics.com/v1/plugins \\
  -H 'Authorization: <YOUR_API_TOKEN>' \\
  -H 'Content-Type: application/json' \\
  -d '{
	"organisation_id": "my_organisation_id",
        "plugin_type": "INTEGRATION_BATCH",
        "group_id": "com.my-client.integration_batch",
        "artifact_id": "integration-batch-my-client"
}'"""

CREATE_VERSION = """curl -X POST \\
  https://api.mediarithmics.com/v1/plugins/<PLUGIN_ID>/versions \\
  -H 'Authorization: <YOUR_API_TOKEN>' \\
  -H 'Content-Type: application/json' \\
  -d '{
	  "version_id":"1.0.0",
          "plugin_properties":[
        	  	{
        	     "technical_name": "one_more_property",
        	     "value": {
        	       "value": ""
        	     },
        	     "property_type": "STRING",
        	     "origin": "PLUGIN",
        	     "writable": true,
        	     "deletable": true
        	   },
                {
                    "technical_name": "provider",
                    "value": {
                        "value": "mediarithmics"
                    },
                    "property_type": "STRING",
                    "origin": "PLUGIN_STATIC",
                    "writable": false,
                    "deletable": false
                },
                {
                    "technical_name": "name",
                    "value": {
                        "value": "My Plugin Name"
                    },
                    "property_type": "STRING",
                    "origin": "PLUGIN_STATIC",
                    "writable": false,
                    "deletable": false
                }
        ]
}'"""

CREATE_INSTANCE = """curl -X POST \\
  https://api.mediarithmics.com/v1/integration_batch_instances \\
  -H 'Authorization: <YOUR_API_TOKEN>' \\
  -H 'Content-Type: application/json' \\
  -d '{
	"group_id": "com.my-client.integration_batch",
        "artifact_id": "integration-batch-my-client",
        "version_id": "my-version-id",
        "organisation_id": "my-plugin-id",
        "name": "The name of my instance",
        "archived": false, 
        "cron" :"* * * 7 *",
        "cron_status": "ACTIVE | PAUSED",
        "ram_size": "LOW | MEDIUM | LARGE | EXTRA_LARGE",
        "disk_size": "LOW | MEDIUM | LARGE | EXTRA_LARGE",
        "cpu_size": "LOW | MEDIUM | LARGE | EXTRA_LARGE"
}'"""

# As in the seed, body and all: unquoted keys, a key that lost its closing quote, a trailing
# comma. Only the shell quote the page forgot to close is closed here.
CREATE_EXECUTION = """curl -X POST \\
  https://api.mediarithmics.com/v1/integration_batch_instances/<INSTANCE_ID>/executions \\
  -H 'Authorization: <YOUR_API_TOKEN>' \\
  -H 'Content-Type: application/json' \\
  -d '{
           "parameters": {
		execution_type: "MANUAL | CRON", 
		expected_start_date: 1562595783663
            },
           "organisation_id": "1185",
           "user_id": "1007",
           "error": null,
           "status": "PENDING",
           "external_model_id: "42",
           "external_model_name": "PUBLIC_INTEGRATION_BATCH",
           "start_date": 1562595789171,
           "job_type": "BATCH_INTEGRATION",
  }
'"""


def replay(command: str, live_server, replacements: dict) -> tuple[int, dict]:
    import json

    command = command.replace("https://api.mediarithmics.com", live_server.url)
    for placeholder, value in replacements.items():
        command = command.replace(placeholder, value)
    command = command.replace("curl -X POST", "curl -sS -w '\\n%{http_code}' -X POST", 1)
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True, timeout=30)
    body, status = result.stdout.rsplit("\n", 1)
    return int(status), json.loads(body)


def test_the_seeds_curls_work_as_written(live_server, v1, organisation):
    org = str(organisation.pk)
    token = {"<YOUR_API_TOKEN>": v1.raw_token}

    status, plugin = replay(CREATE_PLUGIN, live_server, {**token, "my_organisation_id": org})
    assert status == 201, plugin
    plugin_id = plugin["data"]["id"]

    status, version = replay(CREATE_VERSION, live_server, {**token, "<PLUGIN_ID>": plugin_id})
    assert status == 201, version
    assert version["data"]["version_id"] == "1.0.0"

    status, instance = replay(
        CREATE_INSTANCE,
        live_server,
        {
            **token,
            "my-version-id": "1.0.0",
            "my-plugin-id": org,
            "ACTIVE | PAUSED": "ACTIVE",
            '"ram_size": "LOW | MEDIUM | LARGE | EXTRA_LARGE"': '"ram_size": "MEDIUM"',
            "LOW | MEDIUM | LARGE | EXTRA_LARGE": "LOW",
        },
    )
    assert status == 201, instance
    assert (instance["data"]["cron"], instance["data"]["cron_status"], instance["data"]["ram_size"]) == (
        "* * * 7 *",
        "ACTIVE",
        "MEDIUM",
    )
    instance_id = instance["data"]["id"]

    status, execution = replay(
        CREATE_EXECUTION,
        live_server,
        {**token, "<INSTANCE_ID>": instance_id, "MANUAL | CRON": "MANUAL", '"1185"': f'"{org}"', "42": instance_id},
    )
    assert status == 201, execution
    data = execution["data"]
    assert data["parameters"] == {"execution_type": "MANUAL", "expected_start_date": 1562595783663}
    assert (data["status"], data["start_date"], data["external_model_id"]) == ("PENDING", None, instance_id)
    assert IntegrationBatchInstance.objects.get().executions.get() == Execution.objects.get()
