"""The seed's flow (seeds/batch-and-profiling.md) as a client runs it against `make run`'s processes
(web, worker and beat, the embedded default): subscribe with a batchKey filter, upload with that
batchKey, the preliminary event arrives, then the full one; GET .../profile returns it."""

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.platform import PASSWORD, embedded_platform
from tests.profiling.zips import workers_comp_zip

pytestmark = pytest.mark.e2e

KEY = "ac5b3d51-50f8-40d1-e378-18f8db2fabc9"


def test_the_seed_flow_subscribe_upload_preliminary_then_full_profile(tmp_path):
    with embedded_platform(tmp_path / "var", "valen") as platform:
        client = httpx.Client(base_url=f"{platform.base}/solutions", auth=("alice", PASSWORD), timeout=130)
        subscribe = "/longpoll/subscribe"
        with ThreadPoolExecutor(2) as pool:
            preliminary = pool.submit(
                client.get, subscribe, params={"filter": f"name,preliminaryProfile,batchKey,{KEY}", "timeout": 120}
            )
            # Customer-wide: only events from now on, so it must reach the hub before the upload.
            updated = pool.submit(
                client.get, subscribe, params={"filter": "name,profileUpdatedEvent,customer,valen", "timeout": 120}
            )
            time.sleep(2)
            assert not preliminary.done() and not updated.done()
            uploaded = client.post(f"/batch/5/profile?batchKey={KEY}", files={"file": ("wc.zip", workers_comp_zip())})
            assert (uploaded.status_code, uploaded.text) == (200, KEY)

            first = preliminary.result(timeout=60)
            assert first.status_code == 200, first.text
            [event] = first.json()["events"]
            assert (event["name"], event["batchKey"], event["customer"]) == ("preliminaryProfile", KEY, "valen")
            assert event["payload"]["profile"]["memberCount"] == 2

            second = updated.result(timeout=120)
            assert second.status_code == 200, second.text
            [event] = second.json()["events"]
            assert (event["name"], event["batchKey"], event["status"]) == ("profileUpdatedEvent", KEY, "COMPLETED")

        # A client that subscribes late with the batchKey still gets both, at once.
        late = client.get(subscribe, params={"filter": f"batchKey,{KEY}", "timeout": 0}).json()
        assert [event["name"] for event in late["events"]] == ["preliminaryProfile", "profileUpdatedEvent"]

        document = client.get(f"/batch/version/unstructured/{KEY}/profile").json()
        assert (document["status"], document["profile"]["kind"], document["profile"]["rowCount"]) == (
            "COMPLETED",
            "full",
            6,
        )
        zip_code = document["profile"]["members"][0]["columns"][8]
        assert (zip_code["name"], zip_code["type"], zip_code["min"]) == ("policy_zip_code", "text", "00501")
