"""The README's integration-batch walk, replayed as written by bash and curl against a live server
and a real worker: a token from the commands, a plugin packed with packplugin, its version, archive,
instance and a manual execution that ends SUCCEEDED with progress and result; then its log and
artifacts through the API. Only the address and the path of manage.py are replaced."""

import json
import os
import re

import pytest
from django.db import connection

from plugins.models import Execution
from tests import workers
from tests.e2e.shell import as_run_here, bash, execution_worker, sh_blocks
from tests.processes import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, reset_sequences=True)]
__all__ = ["execution_worker"]

README = (ROOT / "README.md").read_text()


def test_the_readmes_integration_batch_walk_ends_succeeded_with_its_log_and_artifacts(
    live_server, execution_worker, tmp_path
):
    env = {**os.environ, "DATABASE_URL": workers.test_database_url()}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    (first_call,) = sh_blocks(README, "A first API call")
    create, follow = sh_blocks(README, "### Integration batches")

    output = bash(as_run_here(first_call + create, live_server.url) + '\necho; echo "TOKEN=$TOKEN"', tmp_path, env)
    assert '"status":"error"' not in output.replace(" ", ""), output
    token = re.search(r"^TOKEN=(.+)$", output, re.MULTILINE).group(1)

    def finished():
        connection.close()  # what the worker committed
        execution = Execution.objects.filter(pk=1).first()
        return execution if execution and execution.status in ("SUCCEEDED", "FAILED", "CANCELED") else None

    execution = workers.wait_for(finished, 120, "the README's execution to end")
    assert execution.status == "SUCCEEDED", (execution.error, open(execution_worker.log).read()[-3000:])

    # The second block line by line, each answer checked.
    prefix = f'TOKEN={token}; H="Authorization: $TOKEN"; API={live_server.url}/v1\n'
    lines = [line for line in follow.strip().splitlines()]
    assert lines[0].startswith("E=")
    answers = [bash(prefix + lines[0] + "\n" + line, tmp_path, env) for line in lines[1:]]

    detail = json.loads(answers[0])["data"]
    assert (detail["status"], detail["result"]) == ("SUCCEEDED", {"imported": 3})
    assert (detail["num_tasks"], detail["completed_tasks"], detail["erroneous_tasks"]) == (3, 3, None)
    assert detail["parameters"]["execution_type"] == "MANUAL"

    log = json.loads(answers[1])["data"]
    assert (log["running"], log["complete"], log["offset"]) == (False, True, 0)
    assert "[INFO] importing grace for Importer" in log["text"]
    assert log["next_offset"] == len(log["text"].encode())
    assert answers[2] == log["text"]  # the bare text

    artifacts = json.loads(answers[3])
    assert [(a["name"], a["size"]) for a in artifacts["data"]] == [("imported.txt", 16)]
    assert (tmp_path / "imported.txt").read_text() == "ada\ngrace\nlinus\n"
