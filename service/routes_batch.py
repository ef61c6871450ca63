"""Batch matching over HTTP: upload a registration file, poll the job, download the result.

    POST /v1/batch/jobs?format=xlsx      body: the .xlsx or .csv file  → 202 {job_id, …}
    GET  /v1/batch/jobs/{job_id}         → status, progress and, when done, the summary
    GET  /v1/batch/jobs/{job_id}/result  → the output file (.xlsx, .csv or .jsonl)

A job runs `service.batch_run.run_batch`, the code behind `linli batch`, in one worker
thread, holding one planner lease for the whole job so that every row sees one rule
version. The upload goes in the request body as it is (no multipart form), so its size is
capped by the service's body limit (`LINLI_MAX_BODY_BYTES`). Jobs and their files live in
a temporary directory; the oldest finished jobs are deleted once more than `KEPT_JOBS`
exist, and everything is lost when the service restarts.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from engine.errors import RuleSetError
from engine.messages import render
from service.auth import Permission, require
from service.batch_io import OLE_MAGIC, XLSX_MAGIC, BatchFileError
from service.batch_run import BatchSummary, Progress, run_batch
from service.http_errors import ERROR_RESPONSES, ApiError, ErrorBody, request_lang
from service.state import PlannerRegistry, get_registry

logger = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Delete the job files when the app stops; FastAPI runs a router's lifespan inside the app's."""
    yield
    jobs: BatchJobs | None = getattr(app.state, "batch_jobs", None)
    if jobs is not None:
        jobs.close()


router = APIRouter(prefix="/v1/batch", tags=["批量匹配 batch"], lifespan=_lifespan)

KEPT_JOBS = 20
MAX_WAITING_JOBS = 4
MAX_JOB_ROWS = 200_000

MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
}
# The xlsx media type is accepted too, but left out of the spec: OpenAPI tools have no serialiser for it.
UPLOAD_TYPES = ("application/octet-stream", "text/csv")


class JobState(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


@dataclass
class BatchJob:
    """One uploaded batch; `error` is the (zh, en) message of a failed job."""

    id: str
    directory: Path
    input_path: Path
    output_format: str
    lang: str
    state: JobState = JobState.queued
    rows_done: int = 0
    rows_total: int | None = None
    rows_blank: int = 0
    summary: BatchSummary | None = None
    error: tuple[str, str] | None = None
    error_code: str | None = None

    @property
    def output_path(self) -> Path:
        return self.directory / f"result.{self.output_format}"


@dataclass
class BatchJobs:
    """The jobs of one app and the single worker thread that runs them."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="linli-batch-")))
    jobs: OrderedDict[str, BatchJob] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="linli-batch"))

    def close(self) -> None:
        """Drop queued jobs and delete every job's files; a running job fails when its files go."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)
        logger.info("batch jobs closed: %d jobs and their files deleted", len(self.jobs))

    def waiting(self) -> int:
        return sum(1 for job in self.jobs.values() if job.state in (JobState.queued, JobState.running))

    def add(self, job: BatchJob) -> None:
        self.jobs[job.id] = job
        finished = [j for j in self.jobs.values() if j.state in (JobState.done, JobState.failed)]
        for old in finished[: max(0, len(self.jobs) - KEPT_JOBS)]:
            del self.jobs[old.id]
            shutil.rmtree(old.directory, ignore_errors=True)
            logger.info("batch job %s deleted to keep at most %d jobs", old.id, KEPT_JOBS)


_jobs_lock = threading.Lock()


def get_jobs(request: Request) -> BatchJobs:
    """FastAPI dependency: the app's job table, created on first use."""
    with _jobs_lock:
        jobs = getattr(request.app.state, "batch_jobs", None)
        if jobs is None:
            jobs = BatchJobs()
            request.app.state.batch_jobs = jobs
        return jobs


# Response models


class IndicatorOut(BaseModel):
    id: str
    name: str
    households: int
    share: float = Field(description="占已生成计划户数的比例 0–1")
    target: float | None = Field(description="工作方法的示例目标，无目标时为 null")


class SummaryOut(BaseModel):
    rows: int = Field(description="数据行数（不含空行）")
    planned: int
    failed: int = Field(description="有错误的行数；错误写在结果文件对应行")
    blank_rows: int
    seats: int = Field(description="分配出的名额数")
    waitlisted: int = Field(description="候补条数")
    ruleset_version: str
    indicators: list[IndicatorOut]


class JobOut(BaseModel):
    job_id: str
    status: JobState = Field(description="queued 排队 | running 运行中 | done 完成 | failed 失败")
    format: str = Field(description="结果格式：xlsx、csv 或 jsonl")
    rows_done: int = Field(description="已处理的数据行数（不含空行）")
    rows_total: int | None = Field(description="数据行总数（不含空行）：运行中为估计值（未知时为 null），完成后等于 rows_done")
    rows_blank: int = Field(description="已跳过的空行数")
    status_url: str
    result_url: str | None = Field(description="完成后下载结果的地址")
    summary: SummaryOut | None = None
    error: str | None = Field(default=None, description="失败原因（Accept-Language 为 en 时英文）")
    error_code: str | None = None


def _job_out(job: BatchJob, lang: str) -> JobOut:
    summary = None
    if job.summary is not None:
        s = job.summary
        summary = SummaryOut(rows=s.rows, planned=s.planned, failed=s.failed, blank_rows=s.blank_rows, seats=s.seats,
                             waitlisted=s.waitlisted, ruleset_version=s.ruleset_version,
                             indicators=[IndicatorOut(id=r.indicator.id, households=r.households, share=round(r.share, 4),
                                                      target=r.indicator.target,
                                                      name=r.indicator.name_en if lang == "en" else r.indicator.name)
                                         for r in s.indicators])
    error = None
    if job.error is not None:
        error = job.error[1] if lang == "en" else job.error[0]
    return JobOut(job_id=job.id, status=job.state, format=job.output_format, rows_done=job.rows_done,
                  rows_total=job.rows_total, rows_blank=job.rows_blank, status_url=f"/v1/batch/jobs/{job.id}",
                  result_url=f"/v1/batch/jobs/{job.id}/result" if job.state == JobState.done else None,
                  summary=summary, error=error, error_code=job.error_code)


# Endpoints

JobId = Annotated[str, PathParam(max_length=64, description="创建任务时返回的 job_id")]

UPLOAD_BODY = {
    "required": True,
    "description": "登记表文件本身（不是表单）：.xlsx，或 UTF-8 / GB18030 编码的 .csv；按文件内容识别格式，"
                   "Content-Type 可为 application/octet-stream、text/csv 或 xlsx 的类型。大小受 LINLI_MAX_BODY_BYTES 限制。",
    "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in UPLOAD_TYPES},
}


@router.post(
    "/jobs",
    status_code=202,
    response_model=JobOut,
    responses={**ERROR_RESPONSES, 429: {"model": ErrorBody, "description": "排队的任务已达上限，请稍后再上传"}},
    summary="上传登记表，创建批量匹配任务",
    description="请求体为新居民登记表（与 `linli batch` 读取的相同）。任务在后台运行：用返回的 status_url 查询进度，"
                "完成后从 result_url 下载结果。与命令行相同，每个数据行在结果中都有一行：计划或错误说明。"
                "登记表中的姓名、电话等个人信息不会写入结果或日志。",
    openapi_extra={"requestBody": UPLOAD_BODY},
    dependencies=[Depends(require(Permission.plan))],
)
async def create_job(
    request: Request,
    output_format: Annotated[Literal["xlsx", "csv", "jsonl"], Query(alias="format",
                                                                    description="结果格式：xlsx（默认）、csv 或 jsonl")] = "xlsx",
    registry: PlannerRegistry = Depends(get_registry),
    jobs: BatchJobs = Depends(get_jobs),
) -> JSONResponse:
    body = await request.body()
    if not body:
        raise ApiError(422, "empty_upload", "http_batch_empty")
    lang = request_lang(request.headers)
    with jobs.lock:
        if jobs.waiting() >= MAX_WAITING_JOBS:
            raise ApiError(429, "batch_busy", "http_batch_busy", {"count": jobs.waiting()}, headers={"Retry-After": "10"})
        job = _new_job(jobs, body, output_format, lang)
        jobs.add(job)
    jobs.executor.submit(_run_job, job, registry)
    logger.info("batch job %s queued: %d bytes, output %s", job.id, len(body), output_format)
    return JSONResponse(_job_out(job, lang).model_dump(mode="json"), status_code=202)


def _new_job(jobs: BatchJobs, body: bytes, output_format: str, lang: str) -> BatchJob:
    job_id = uuid.uuid4().hex
    directory = jobs.root / job_id
    directory.mkdir()
    # The suffix only names the file in messages, because the reader tells the formats apart by content.
    # NOTE: a raw body carries no file name, so messages name the upload input.xlsx, input.xls or input.csv.
    suffix = ".csv"
    if body.startswith(XLSX_MAGIC):
        suffix = ".xlsx"
    elif body.startswith(OLE_MAGIC):
        suffix = ".xls"
    input_path = directory / f"input{suffix}"
    input_path.write_bytes(body)
    return BatchJob(job_id, directory, input_path, output_format, lang)


@router.get(
    "/jobs/{job_id}",
    response_model=JobOut,
    responses={**ERROR_RESPONSES, 404: {"model": ErrorBody, "description": "没有这个任务（或已被清理）"}},
    summary="查询批量匹配任务",
    dependencies=[Depends(require(Permission.plan))],
)
def get_job(request: Request, job_id: JobId, jobs: BatchJobs = Depends(get_jobs)) -> JSONResponse:
    job = _find(jobs, job_id)
    return JSONResponse(_job_out(job, request_lang(request.headers)).model_dump(mode="json"))


@router.get(
    "/jobs/{job_id}/result",
    response_class=FileResponse,
    responses={
        **ERROR_RESPONSES,
        200: {"description": "结果文件", "content": {media: {"schema": {"type": "string", "format": "binary"}}
                                                      for media in MEDIA_TYPES.values()}},
        404: {"model": ErrorBody, "description": "没有这个任务（或已被清理）"},
        409: {"model": ErrorBody, "description": "任务尚未完成，或已失败"},
    },
    summary="下载批量匹配结果",
    dependencies=[Depends(require(Permission.plan))],
)
def get_result(job_id: JobId, jobs: BatchJobs = Depends(get_jobs)) -> FileResponse:
    job = _find(jobs, job_id)
    if job.state == JobState.failed:
        raise ApiError(409, "batch_failed", "http_batch_failed", {"job_id": job.id, "detail": job.error[0]},
                       params_en={"job_id": job.id, "detail": job.error[1]})
    if job.state != JobState.done:
        raise ApiError(409, "batch_not_finished", "http_batch_not_finished", {"job_id": job.id, "status": job.state})
    return FileResponse(job.output_path, media_type=MEDIA_TYPES[job.output_format],
                        filename=f"linli-batch-{job.id[:8]}.{job.output_format}")


def _find(jobs: BatchJobs, job_id: str) -> BatchJob:
    with jobs.lock:
        job = jobs.jobs.get(job_id)
    if job is None:
        raise ApiError(404, "batch_job_not_found", "http_batch_job_not_found", {"job_id": job_id})
    return job


# The worker


def _run_job(job: BatchJob, registry: PlannerRegistry) -> None:
    """Run one job in the worker thread; every outcome ends in state done or failed."""
    job.state = JobState.running

    def progress(state: Progress) -> None:
        job.rows_done, job.rows_blank, job.rows_total = state.done, state.blank, state.total

    try:
        with registry.lease() as planner:
            job.summary = run_batch(job.input_path, job.output_path, planner, output_format=job.output_format,
                                    lang=job.lang, progress=progress, max_rows=MAX_JOB_ROWS,
                                    input_name=job.input_path.name, output_name=job.output_path.name)
        job.state = JobState.done
        logger.info("batch job %s done: %d rows, %d failed", job.id, job.summary.rows, job.summary.failed)
    except BatchFileError as exc:
        _fail(job, exc.code, exc.message("zh"), exc.message("en"))
    except RuleSetError as exc:
        errors = [p for p in exc.problems if p.severity == "error"] or exc.problems
        _fail(job, "rules_invalid", "\n".join(p.format("zh") for p in errors), "\n".join(p.format("en") for p in errors))
    except ApiError as exc:
        _fail(job, exc.code, render(exc.message_code, "zh", **exc.params), render(exc.message_code, "en", **exc.params_en))
    except Exception as exc:  # noqa: BLE001 - a worker thread must record every failure, not die silently
        logger.exception("batch job %s failed unexpectedly", job.id)
        _fail(job, "internal", render("internal", "zh", detail=type(exc).__name__),
              render("internal", "en", detail=type(exc).__name__))
    finally:
        job.input_path.unlink(missing_ok=True)


def _fail(job: BatchJob, code: str, chinese: str, english: str) -> None:
    job.error = (chinese, english)
    job.error_code = code
    job.state = JobState.failed
    logger.info("batch job %s failed: %s", job.id, code)

