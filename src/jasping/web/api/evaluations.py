"""`POST /api/v1/agents/{agent_id}/evaluations`: ask the agent a file of questions and score its replies."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from jasping.agent import evaluation
from jasping.agent.evaluation_files import MAX_UPLOAD_BYTES, MAX_UPLOAD_QUESTIONS
from jasping.agents.service import get_agent
from jasping.errors import Invalid, TooLarge
from jasping.web.api import API
from jasping.web.api.knowledge import FILE_UPLOAD
from jasping.web.deps import CurrentPrincipal, DbSession

router = APIRouter(prefix=f"{API}/agents/{{agent_id}}", tags=["evaluations"])


class Figures(BaseModel):
    questions: int
    answerable: int
    unanswerable: int
    accuracy: float | None  # answerable questions with every fact and the right citation
    fact_accuracy: float | None
    citation_accuracy: float | None
    cross_lingual_accuracy: float | None
    honest_decline_rate: float | None  # of the questions the documents do not answer
    false_decline_rate: float | None  # answerable questions declined
    cpu_ms_per_question: float | None


class Miss(BaseModel):
    id: str
    question: str
    language: str | None
    expected: list[str]
    document: str | None
    reply: str
    cited: list[str]
    why: str


class EvaluationRead(Figures):
    by_language: dict[str, Figures]
    by_format: dict[str, Figures]
    by_crossing: dict[str, Figures]
    by_type: dict[str, Figures]
    misses: list[Miss]


_MULTIPART = {"requestBody": {"required": True, "content": FILE_UPLOAD}}


async def _read(upload: UploadFile) -> bytes:
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"the question file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    return data


@router.post("/evaluations", response_model=EvaluationRead, openapi_extra=_MULTIPART)
async def evaluate(agent_id: str, request: Request, principal: CurrentPrincipal, db: DbSession) -> dict:
    """Send a question file (multipart `file`: .jsonl, .csv or .xlsx, at most 500 questions; see
    docs/evaluation.md); the agent answers each (nothing is stored) and the replies are scored: accuracy,
    fact and citation accuracy, honest declines, false declines, by language, format and type, and the misses."""
    await run_in_threadpool(get_agent, db, agent_id)  # 404 for another organization's agent, before the body
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Invalid("send the questions as a multipart/form-data file named `file`", code="missing_file")
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid("send the questions in a multipart field named `file`", code="missing_file")
    data = await _read(upload)
    try:
        questions = evaluation.parse_questions(data, upload.filename or "questions", max_questions=MAX_UPLOAD_QUESTIONS)
    except evaluation.QuestionFileError as exc:
        raise Invalid(str(exc), code="invalid_question_file") from exc
    await run_in_threadpool(db.commit)  # no transaction stays open while the model answers
    results = await run_in_threadpool(evaluation.evaluate_agent, principal.org_id, agent_id, questions)
    return evaluation.report(results)
