"""What a newcomer does: `make run` on a fresh data directory, log into the admin, create an
organisation and a token with the commands, call the API, Ctrl-C, and nothing is left running."""

import os
import re
import signal
import subprocess
import threading
import time

import httpx
import pytest

from tests.harness import free_port
from tests.processes import ROOT, embedded_env, manage

pytestmark = pytest.mark.e2e


class Output:
    def __init__(self, stream):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def search(self, pattern: str):
        for line in list(self.lines):
            if match := re.search(pattern, line):
                return match
        return None

    def text(self) -> str:
        return "\n".join(self.lines[-80:])


def wait_until(condition, timeout: float, what: str, output: Output):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; output:\n{output.text()}")


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_serves_the_admin_and_the_api_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = embedded_env(tmp_path / "var", PORT=str(port))
    process = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    output = Output(process.stdout)
    try:
        wait_until(lambda: healthy(base), 300, "/healthz", output)
        login = output.search(r"Log in at /admin/ as '([^']+)' with password '([^']+)'")
        assert login, output.text()
        username, password = login.groups()
        started = [re.search(r"started (\w+) \(pid (\d+)\)", line) for line in output.lines]
        children = {m.group(1): int(m.group(2)) for m in started if m}
        assert set(children) == {"web", "worker", "beat"}

        with httpx.Client(base_url=base, follow_redirects=True) as browser:
            browser.get("/admin/login/")
            page = browser.post(
                "/admin/login/?next=/admin/",
                data={"username": username, "password": password, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
                headers={"Referer": f"{base}/admin/login/"},
            )
            assert page.status_code == 200
            assert "batchplatform operations" in page.text and "Organisations" in page.text

        organisation_id = manage("createorganisation", "acme", env=env).stdout.strip()
        manage("createapiuser", "acme", "alice", "--password", "alice-password-1", env=env)
        token = manage("createapitoken", "alice", env=env).stdout.strip()
        response = httpx.get(f"{base}/v1/connected_user", headers={"Authorization": token})
        assert response.status_code == 200
        assert response.json()["data"]["organisation_id"] == organisation_id
        assert httpx.get(f"{base}/v1/connected_user").status_code == 401

        # A request batch, carried to its end by the embedded worker (filesystem broker, SQLite).
        ecc = httpx.Client(base_url=f"{base}/ecc/v1", auth=("alice", "alice-password-1"), timeout=10)
        batch = ecc.post(
            "/batches",
            json={
                "type": "multi",
                "requests": [
                    {
                        "method": "POST",
                        "resource": "subscriptions",
                        "body": {"msisdn": "46708421488", "iccid": "89461177710001700003"},
                    },
                    {
                        "method": "PATCH",
                        "resource": "subscriptions/iccid:89461177710001700003",
                        "body": {"state": "IN_USE"},
                    },
                ],
            },
        )
        assert batch.status_code == 202, batch.text
        url = f"/batches/{batch.json()['batchid']}"
        done = wait_until(lambda: ecc.get(url).json()["status"] == "COMPLETED", 60, "the batch to complete", output)
        assert done
        assert ecc.get("/subscriptions/msisdn:46708421488").json()["status"] == "IN_USE"
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise

    assert "stopped" in output.lines, output.text()
    assert not [name for name, pid in children.items() if pid_alive(pid)]
