"""The embedded broker under concurrent producers and consumers: every message arrives once and
no reader ever sees a half-written file (kombu's own filesystem transport crashed on that)."""

import subprocess
import sys
import threading

from kombu import Connection

from batchplatform import broker  # noqa: F401  (registers safefs://)
from tests.processes import ROOT

PRODUCER = """
import sys
from kombu import Connection
from batchplatform import broker
folder, tag = sys.argv[1], sys.argv[2]
options = {"data_folder_in": folder + "/out", "data_folder_out": folder + "/out",
           "processed_folder": folder + "/processed"}
with Connection("safefs://", transport_options=options) as conn:
    queue = conn.SimpleQueue("work")
    for n in range(300):
        queue.put({"tag": tag, "n": n, "padding": "x" * 20000})
"""


def test_concurrent_producers_and_consumers_lose_nothing_and_read_no_partial_message(tmp_path):
    for folder in ("out", "processed"):
        (tmp_path / folder).mkdir()
    options = {
        "data_folder_in": str(tmp_path / "out"),
        "data_folder_out": str(tmp_path / "out"),
        "processed_folder": str(tmp_path / "processed"),
        "polling_interval": 0.01,
    }
    producers = [
        subprocess.Popen([sys.executable, "-c", PRODUCER, str(tmp_path), tag], cwd=ROOT) for tag in ("a", "b", "c")
    ]
    received, errors = [], []

    def consume():
        with Connection("safefs://", transport_options=options) as conn:
            queue = conn.SimpleQueue("work")
            while len(received) < 900:
                try:
                    message = queue.get(timeout=1)
                except queue.Empty:
                    if all(p.poll() is not None for p in producers):
                        return  # everything was produced and nothing is left
                    continue
                except Exception as error:  # the assertion below reports it
                    errors.append(error)
                    return
                received.append((message.payload["tag"], message.payload["n"]))
                message.ack()

    consumers = [threading.Thread(target=consume) for _ in range(2)]
    for consumer in consumers:
        consumer.start()
    for producer in producers:
        assert producer.wait(timeout=60) == 0
    for consumer in consumers:
        consumer.join(timeout=60)
    assert len(received) == len(set(received)) == 900, (len(received), errors[:1])
    assert not list((tmp_path / "processed").iterdir())  # claimed files are removed once read
