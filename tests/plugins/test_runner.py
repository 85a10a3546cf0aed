"""The runner, in this process: plugins of every kind run in their sandbox, within their limits."""

import json

import pytest

from plugins import execution_files
from plugins.models import ExecutionStatus
from tests.plugins.conftest import PROPERTIES
from tests.plugins.runs import plugin_instance, plugin_version, run_in_process, runner_settings, with_limits

pytestmark = pytest.mark.usefixtures("runner_settings")
__all__ = ["runner_settings"]


@pytest.fixture
def run(plugin, organisation, member):
    def run(files, entry_point, **instance_fields):
        version = plugin_version(plugin, files, entry_point)
        instance = plugin_instance(organisation, member, version, **instance_fields)
        return run_in_process(instance)

    return run


def log_of(execution) -> str:
    return execution_files.read_log(execution=execution).text


def test_a_callable_plugin_succeeds_with_its_progress_result_and_log(run):
    execution = run(
        {
            "main.py": """
            def run(context):
                print("hello from", context.execution_id)
                context.log("batch size", context.properties["batch_size"])
                context.report_progress(num_tasks=3, completed_tasks=2, erroneous_tasks=1)
                (context.output_dir / "report.csv").write_text("a,b\\n1,2\\n")
                return {"imported": 2}
            """
        },
        "main:run",
    )
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert execution.result == {"imported": 2}
    assert (execution.num_tasks, execution.completed_tasks, execution.erroneous_tasks) == (3, 2, 1)
    log = log_of(execution)
    assert f"hello from {execution.pk}" in log
    assert "[INFO] batch size 100" in log
    assert [(a.name, a.size) for a in execution_files.list_artifacts(execution=execution)] == [("report.csv", 8)]
    with execution_files.open_artifact(execution=execution, name="report.csv") as artifact:
        assert artifact.read() == b"a,b\n1,2\n"
    assert execution.start_date <= execution.end_date


def test_a_script_plugin_gets_the_same_context(run):
    execution = run(
        {
            "main.py": """
            import batchplatform_sdk
            context = batchplatform_sdk.get_context()
            if __name__ == "__main__":
                context.set_result({"type": context.execution_type, "name": context.properties["name"]})
            """
        },
        "main",
    )
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert execution.result == {"type": "MANUAL", "name": "My Plugin Name"}


def test_a_shell_script_reports_through_the_status_file(run):
    execution = run(
        {
            "run.sh": """
            #!/bin/sh
            set -e
            echo "running $EXECUTION_ID of $PLUGIN_GROUP_ID:$PLUGIN_ARTIFACT_ID $PLUGIN_VERSION"
            echo '{"type": "progress", "num_tasks": 5, "completed_tasks": 5}' >> "$STATUS_FILE"
            echo "done" > "$OUTPUT_DIR/out.txt"
            printf '{"type": "result", "result": {"instance": %s, "organisation": %s}}\\n' \\
                "$INTEGRATION_BATCH_INSTANCE_ID" "$ORGANISATION_ID" >> "$STATUS_FILE"
            """
        },
        "run.sh",
    )
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert execution.result == {"instance": execution.instance_id, "organisation": execution.organisation_id}
    assert (execution.num_tasks, execution.completed_tasks) == (5, 5)
    plugin = "com.my-client.integration_batch:integration-batch-my-client"
    assert f"running {execution.pk} of {plugin} 1.0.0" in log_of(execution)
    assert [a.name for a in execution_files.list_artifacts(execution=execution)] == ["out.txt"]


def test_an_exception_fails_the_execution_with_its_message_and_traceback(run):
    execution = run(
        {
            "main.py": """
            def helper():
                raise ValueError("the partner's file is empty")

            def run(context):
                helper()
            """
        },
        "main:run",
    )
    assert execution.status == ExecutionStatus.FAILED
    message = execution.error["message"]
    assert message.startswith("ValueError: the partner's file is empty")
    assert "in helper" in message and "Traceback" in message


def test_a_non_zero_exit_fails_the_execution(run):
    execution = run({"run.sh": "#!/bin/sh\necho 'cannot reach the partner' >&2\nexit 3\n"}, "run.sh")
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error["message"].startswith("the plugin exited with code 3")
    assert "cannot reach the partner" in execution.error["message"]


def test_the_environment_holds_no_platform_secret(run):
    execution = run(
        {
            "main.py": """
            import os
            def run(context):
                return {"env": dict(os.environ)}
            """
        },
        "main:run",
    )
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    env = execution.result["env"]
    for name in (
        "DATABASE_URL",
        "SECRET_KEY",
        "CELERY_BROKER_URL",
        "REDIS_URL",
        "STORAGE_URL",
        "AWS_SECRET_ACCESS_KEY",
    ):
        assert name not in env
    assert not any("postgres://" in value or "redis://" in value for value in env.values())
    assert env["EXECUTION_ID"] == str(execution.pk)


def test_the_sandbox_shows_neither_the_data_directory_nor_the_settings(run, settings):
    execution = run(
        {
            "main.py": f"""
            import os
            def run(context):
                seen = {{}}
                for path in [{str(settings.DATA_DIR)!r}, {str(settings.BASE_DIR / "batchplatform")!r}, "/home"]:
                    seen[path] = os.path.exists(path)
                try:
                    open("/usr/evil", "w")
                    seen["system writable"] = True
                except OSError:
                    seen["system writable"] = False
                return seen
            """
        },
        "main:run",
    )
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert set(execution.result.values()) == {False}, execution.result


def test_an_instance_without_network_has_none(run, organisation, member, plugin):
    files = {
        "main.py": """
        import socket
        def run(context):
            try:
                socket.create_connection(("192.0.2.1", 9), timeout=1)
                return {"network": "reached"}
            except OSError as error:
                return {"network": error.errno}
        """
    }
    version = plugin_version(plugin, files, "main:run")
    instance = plugin_instance(organisation, member, version)
    from plugins import services

    services.set_instance_property(instance=instance, technical_name="network", value={"value": False})
    execution = run_in_process(instance)
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert execution.result == {"network": 101}  # ENETUNREACH: no interface but loopback


def test_memory_over_the_limit_fails_naming_it(run, settings):
    with_limits(settings, memory_bytes=256 * 1024 * 1024)
    execution = run({"main.py": "def run(context):\n    hog = bytearray(1024 * 1024 * 1024)\n"}, "main:run")
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error["message"].startswith("memory limit of LOW (256 MiB) exceeded")


def test_wall_time_over_the_limit_fails_naming_it(run, settings):
    with_limits(settings, wall_seconds=1)
    execution = run({"main.py": "import time\ndef run(context):\n    time.sleep(60)\n"}, "main:run")
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error["message"] == "wall time limit of LOW (1 s) exceeded"


def test_a_work_directory_over_the_disk_limit_fails_naming_it(run, settings):
    with_limits(settings, disk_bytes=8 * 1024 * 1024)
    execution = run(
        {
            "main.py": """
            import time
            def run(context):
                for n in range(100):  # files under the per-file limit, too many together
                    (context.output_dir / f"part-{n}").write_bytes(b"x" * 1024 * 1024)
                time.sleep(30)
            """
        },
        "main:run",
    )
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error["message"].startswith("disk limit of LOW (8 MiB) exceeded")


def test_a_file_over_the_disk_limit_fails_naming_it(run, settings):
    with_limits(settings, disk_bytes=8 * 1024 * 1024)
    execution = run(
        {"main.py": "def run(context):\n    (context.output_dir / 'big').write_bytes(b'x' * 9 * 1024 * 1024)\n"},
        "main:run",
    )
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error["message"].startswith("disk limit of LOW (8 MiB) exceeded")


def test_a_plugin_runs_on_as_many_cpus_as_its_class_allows(run):
    execution = run(
        {"main.py": "import os\ndef run(context):\n    return {'cpus': len(os.sched_getaffinity(0))}\n"}, "main:run"
    )
    assert execution.result == {"cpus": 1}


def test_a_plugin_that_takes_more_cpus_fails_naming_the_limit(run):
    execution = run(
        {
            "main.py": """
            import os, time
            def run(context):
                os.sched_setaffinity(0, set(range(os.cpu_count())))
                time.sleep(30)
            """
        },
        "main:run",
    )
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error["message"].startswith("CPU limit of LOW (1 CPU) exceeded")


def test_properties_are_the_effective_typed_values(run, plugin, organisation, member):
    from plugins import services

    version = plugin_version(
        plugin, {"main.py": "def run(context):\n    return {'p': context.properties}\n"}, "main:run"
    )
    instance = plugin_instance(organisation, member, version)
    services.set_instance_property(instance=instance, technical_name="batch_size", value={"value": 7})
    execution = run_in_process(instance)
    assert execution.result["p"] == {
        "provider": "mediarithmics",
        "name": "My Plugin Name",
        "one_more_property": "",
        "batch_size": 7,
        "network": True,
    }


def test_the_log_can_be_read_from_an_offset(run):
    execution = run({"main.py": "def run(context):\n    print('0123456789')\n"}, "main:run")
    whole = execution_files.read_log(execution=execution)
    assert whole.complete
    chunk = execution_files.read_log(execution=execution, offset=whole.next_offset - 11)
    assert chunk.data.startswith(b"0123456789") or b"0123456789" in whole.data
    assert execution_files.read_log(execution=execution, offset=whole.next_offset).data == b""
    json.dumps(chunk.text)


# Without bubblewrap: a plain child process with the same limits.


@pytest.fixture
def no_bubblewrap(settings):
    settings.PLUGIN_SANDBOX = "none"


@pytest.mark.usefixtures("no_bubblewrap")
def test_without_bubblewrap_a_plugin_runs_as_a_plain_child_without_secrets(run):
    execution = run({"main.py": "import os\ndef run(context):\n    return {'env': sorted(os.environ)}\n"}, "main:run")
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert "DATABASE_URL" not in execution.result["env"] and "SECRET_KEY" not in execution.result["env"]
    assert "as a plain child process" in log_of(execution)


@pytest.mark.usefixtures("no_bubblewrap")
def test_without_bubblewrap_the_limits_still_hold(run, settings):
    with_limits(settings, memory_bytes=256 * 1024 * 1024)
    execution = run({"main.py": "def run(context):\n    hog = bytearray(1024 * 1024 * 1024)\n"}, "main:run")
    assert execution.error["message"].startswith("memory limit of LOW (256 MiB) exceeded")


@pytest.mark.usefixtures("no_bubblewrap")
def test_without_bubblewrap_an_instance_without_network_is_refused(plugin, organisation, member):
    from plugins import services

    version = plugin_version(plugin, {"main.py": "def run(context):\n    pass\n"}, "main:run")
    instance = plugin_instance(organisation, member, version)
    services.set_instance_property(instance=instance, technical_name="network", value={"value": False})
    execution = run_in_process(instance)
    assert execution.status == ExecutionStatus.FAILED
    assert "needs bubblewrap" in execution.error["message"]


def test_the_worker_says_how_plugins_run(settings):
    from plugins.runner import describe_sandbox

    assert describe_sandbox().startswith("plugins run in a bubblewrap sandbox")
    settings.PLUGIN_SANDBOX = "none"
    assert "plain child processes" in describe_sandbox()


def test_a_version_without_code_fails_with_a_clear_message(plugin, organisation, member):
    from plugins import services

    version = services.create_version(plugin=plugin, version_id="2.0.0", plugin_properties=PROPERTIES)
    execution = run_in_process(plugin_instance(organisation, member, version))
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error["message"] == "version 2.0.0 has no code: upload an archive with an entry point"


def test_network_can_be_off_unless_an_instance_asks_for_it(plugin, organisation, member, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from plugins import services
    from tests.plugins.conftest import zip_bytes

    settings.PLUGIN_NETWORK_DEFAULT = False
    version = services.create_version(plugin=plugin, version_id="3.0.0", plugin_properties=PROPERTIES)
    code = b"import socket\ndef run(context):\n    return {'interfaces': [name for _, name in socket.if_nameindex()]}\n"
    services.attach_archive(
        version=version, uploaded_file=SimpleUploadedFile("c.zip", zip_bytes({"main.py": code})), entry_point="main:run"
    )
    execution = run_in_process(plugin_instance(organisation, member, version))
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert execution.result == {"interfaces": ["lo"]}


def test_a_sandboxed_plugin_sees_only_its_own_processes(run):
    code = """
    import os
    def run(context):
        return {"pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
    """
    execution = run({"main.py": code}, "main:run")
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    # bubblewrap's init and the plugin itself, in a PID namespace of their own.
    assert execution.result["pids"] == [1, 2]
