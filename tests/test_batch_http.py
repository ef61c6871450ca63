"""Batch jobs over HTTP against a real uvicorn server on 127.0.0.1: upload, poll, download."""

from __future__ import annotations

import json
import time

import pytest

from service.cli import main
from tests.service_support import CASEWORKER, RULE_ADMIN, Server, copy_rules
from tests.test_batch_cli import ARRIVALS_CSV, ARRIVALS_XLSX, sheet_rows
from tests.test_batch_io import HEADERS, row, write_csv

POLL_SECONDS = 60
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch_http")
    server = Server(copy_rules(base / "rules"), base / "server.log")
    yield server
    server.stop()


def upload(server: Server, body: bytes, query: str = "", headers: dict | None = None) -> tuple[int, dict]:
    status, raw = server.request("POST", f"/v1/batch/jobs{query}", body,
                                 {**CASEWORKER, "Content-Type": "application/octet-stream", **(headers or {})})
    return status, json.loads(raw)


def wait(server: Server, job_id: str, headers: dict | None = None) -> dict:
    deadline = time.monotonic() + POLL_SECONDS
    while time.monotonic() < deadline:
        status, raw = server.request("GET", f"/v1/batch/jobs/{job_id}", headers={**CASEWORKER, **(headers or {})})
        assert status == 200
        job = json.loads(raw)
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish within {POLL_SECONDS} s")


def test_upload_poll_download_matches_cli(server, tmp_path):
    status, created = upload(server, ARRIVALS_XLSX.read_bytes())
    job = wait(server, created["job_id"])
    status_code, result = server.request("GET", job["result_url"], headers=CASEWORKER)
    (tmp_path / "http.xlsx").write_bytes(result)
    assert main(["batch", str(ARRIVALS_XLSX), "-o", str(tmp_path / "cli.xlsx")]) == 0

    assert status == 202
    assert created["status"] in ("queued", "running")
    assert job["status"] == "done"
    assert job["summary"]["rows"] == 200
    assert job["summary"]["seats"] > 0
    assert status_code == 200
    assert sheet_rows(tmp_path / "http.xlsx", 0) == sheet_rows(tmp_path / "cli.xlsx", 0)
    assert sheet_rows(tmp_path / "http.xlsx", 1) == sheet_rows(tmp_path / "cli.xlsx", 1)


def test_csv_upload_jsonl_result(server):
    _, created = upload(server, ARRIVALS_CSV.read_bytes(), "?format=jsonl")
    job = wait(server, created["job_id"])
    _, result = server.request("GET", job["result_url"], headers=CASEWORKER)

    lines = result.decode("utf-8").splitlines()
    assert len(lines) == 200
    assert json.loads(lines[0])["status"] == "ok"


def test_unreadable_upload_fails_job(server):
    _, created = upload(server, b"\xff\xfe\x00garbage\x81\x82", headers={"Accept-Language": "en"})
    job = wait(server, created["job_id"], {"Accept-Language": "en"})
    status, raw = server.request("GET", f"/v1/batch/jobs/{created['job_id']}/result", headers=CASEWORKER)

    assert job["status"] == "failed"
    assert job["error_code"] == "batch_encoding"
    assert "encoding" in job["error"]
    assert status == 409
    assert "GB18030" in json.loads(raw)["error"]["message"]


def test_unknown_job_not_found(server):
    status, raw = server.request("GET", "/v1/batch/jobs/0123456789abcdef0123456789abcdef", headers=CASEWORKER)

    assert status == 404
    assert json.loads(raw)["error"]["code"] == "batch_job_not_found"


def test_empty_upload_rejected(server):
    status, body = upload(server, b"")

    assert status == 422
    assert body["error"]["code"] == "empty_upload"


def test_rule_admin_cannot_upload(server):
    status, _ = server.request("POST", "/v1/batch/jobs", ARRIVALS_CSV.read_bytes(), RULE_ADMIN)

    assert status == 403


@pytest.mark.parametrize("body, code, words", [
    (b"PK\x03\x04 not really a zip archive", "batch_not_xlsx", "不是有效的 .xlsx 文件"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, "batch_xls", "另存为 .xlsx"),
    (bytes(range(256)) * 8, "batch_not_text", "UTF-8"),
])
def test_unreadable_upload_fails_with_message(server, body, code, words):
    status, created = upload(server, body)
    job = wait(server, created["job_id"])

    assert status == 202
    assert job["status"] == "failed"
    assert job["error_code"] == code
    assert words in job["error"]
    assert "Traceback" not in job["error"]


def test_blank_rows_counted_apart(server, tmp_path):
    blank = [""] * len(HEADERS)
    sheet = write_csv(tmp_path / "in.csv", [row("H001"), blank, row("H002"), blank, blank])

    _, created = upload(server, sheet.read_bytes())
    job = wait(server, created["job_id"])

    assert job["status"] == "done"
    assert job["rows_done"] == 2
    assert job["rows_total"] == 2
    assert job["rows_blank"] == 3
    assert job["summary"]["rows"] == 2
    assert job["summary"]["blank_rows"] == 3
