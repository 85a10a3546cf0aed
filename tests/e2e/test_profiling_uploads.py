"""Uploads to a live web process (uvicorn, as `make run` serves): a 2 GB zip streams through in
bounded memory, and an upload over the limit is refused while it streams."""

import select
import socket
import zipfile

import httpx
import pytest

from tests.e2e.platform import UVICORN_ALONE, embedded_platform

pytestmark = pytest.mark.e2e

BOUNDARY = "profiling-upload-boundary"
ROW = b"1000001,7/7/2017,0.95,Y,Acme Roofing,1234 Anystreet,Anytown,CO,01234,ann\n"
HEADER = (
    b"original_policy_term_number,term_effective_date,experience_mod_factor_initial,new_renew_flag,insured_name,"
    b"policy_address,policy_city_name,policy_state_code,policy_zip_code,underwriter\n"
)


class _Sink:
    """What zipfile writes to: no seek, no tell, so it streams with data descriptors."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self):
        pass

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def generated_zip(member_bytes: int, block_bytes: int = 1024 * 1024):
    """A stored zip with one CSV member of about `member_bytes`, produced chunk by chunk."""
    sink = _Sink()
    block = ROW * (block_bytes // len(ROW))
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:
        with archive.open("insured.csv", "w", force_zip64=member_bytes > 2**31 - 2**24) as member:
            member.write(HEADER)
            written = 0
            while written < member_bytes:
                member.write(block)
                written += len(block)
                yield sink.take()
    yield sink.take()


def multipart(zip_chunks):
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="batch-file"; filename="big.zip"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode()
    yield from zip_chunks
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


@pytest.fixture
def web(tmp_path):
    """uvicorn alone on the embedded default (no worker: only the upload is measured)."""
    with embedded_platform(
        tmp_path / "var", "acme", command=UVICORN_ALONE, PROFILING_MAX_UPLOAD_BYTES=str(2 * 1024**3)
    ) as platform:
        yield platform


def peak_rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_2_gb_upload_streams_through_the_web_process_in_under_300_mb(web):
    response = httpx.post(
        f"{web.base}/solutions/batch/5/profile",
        content=multipart(generated_zip(2_000_000_000)),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        auth=("alice", "alice-password-1"),
        timeout=600,
    )
    assert response.status_code == 200, response.text
    peak = peak_rss_mb(web.pid)
    print(f"web process peak RSS during a 2 GB upload: {peak:.0f} MB")
    assert peak < 300, f"the web process peaked at {peak:.0f} MB"
    profile = httpx.get(
        f"{web.base}/solutions/batch/5/unstructured/{response.text}/profile", auth=("alice", "alice-password-1")
    ).json()
    member = profile["profile"]["members"][0]
    assert member["uncompressedSize"] > 2_000_000_000
    assert member["header"][8] == "policy_zip_code"


def test_an_upload_over_the_limit_is_refused_while_it_streams(web):
    limit = 2 * 1024**3
    with socket.create_connection(("127.0.0.1", web.port)) as connection:
        connection.sendall(
            (
                "POST /solutions/batch/5/profile HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Authorization: Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQtMQ==\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        sent, answer = 0, b""
        for chunk in multipart(generated_zip(3 * 1024**3)):
            if not chunk:
                continue
            try:
                connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
            if select.select([connection], [], [], 0)[0]:
                break
        connection.settimeout(30)
        while b"\r\n\r\n" not in answer:
            data = connection.recv(65536)
            if not data:
                break
            answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < limit + 16 * 1024**2  # refused on the way, not after the 3 GB arrived


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(web):
    with socket.create_connection(("127.0.0.1", web.port)) as connection:
        connection.sendall(
            (
                "POST /solutions/batch/5/profile HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Authorization: Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQtMQ==\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {3 * 1024**3}\r\n\r\n"
            ).encode()
        )
        connection.settimeout(30)
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
