"""A network element of the test's own on loopback: the boundary the http provisioner talks to."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class NetworkElement:
    """Answers each POST with the next status of `statuses` (the last one repeats), after
    `delay` seconds, and remembers what it was sent."""

    def __init__(self, *statuses: int, delay: float = 0.0):
        self.statuses = list(statuses or [200])
        self.calls: list[dict] = []
        element = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(delay)
                element.calls.append({"body": body, "idempotency_key": self.headers["Idempotency-Key"]})
                status = element.statuses.pop(0) if len(element.statuses) > 1 else element.statuses[0]
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b'{"reason": "number ported out"}' if status >= 400 else b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/orders"

    @property
    def received(self) -> list[int]:
        return [call["body"]["orderid"] for call in self.calls]

    def close(self):
        self.server.shutdown()
