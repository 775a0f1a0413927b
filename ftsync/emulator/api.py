"""The OpenAI fine-tuning, files and models API over a Workspace, free of sockets.

`Api.handle()` turns a request (method, path below `/v1`, query, body) into a `Response`; the
HTTP server (server.py) adds authentication, fault injection and the wire.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from . import render
from .rand import mix
from .timeline import JobPlan
from .workspace import BASE_MODELS, FileEntry, Workspace

# Nominal durations of a created job, divided by the emulator's speed factor.
VALIDATE_SECONDS, QUEUE_SECONDS, STEP_SECONDS = 20.0, 10.0, 2.0
EVENT_LISTINGS_KEPT = 16  # jobs whose rendered events are kept between pages


class ApiError(Exception):
    """An error answered with OpenAI's error body."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


@dataclass
class Response:
    status: int
    body: bytes | Iterator[bytes]
    length: int
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> "Response":
        data = json.dumps(obj).encode()
        return cls(status, data, len(data), headers=headers or {})


@dataclass
class Request:
    method: str
    path: str  # below /v1, e.g. /fine_tuning/jobs/ftjob-x/events
    query: dict[str, list[str]]
    body: bytes = b""
    content_type: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def int_arg(self, name: str, default: int) -> int:
        raw = self.arg(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"Invalid '{name}': expected an integer, got {raw!r}.", param=name) from None
        if value < 1:
            raise ApiError(400, f"Invalid '{name}': must be at least 1.", param=name)
        return value

    def json_body(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise ApiError(400, "We could not parse the JSON body of your request.") from None
        if not isinstance(data, dict):
            raise ApiError(400, "The JSON body of your request must be an object.")
        return data


# (method, pattern, route name); the route name is what fault rules match.
ROUTE_TABLE: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p + r"\Z"), name)
    for m, p, name in [
        ("GET", r"/fine_tuning/jobs", "jobs.list"),
        ("POST", r"/fine_tuning/jobs", "jobs.create"),
        ("GET", r"/fine_tuning/jobs/(?P<id>[^/]+)", "jobs.retrieve"),
        ("POST", r"/fine_tuning/jobs/(?P<id>[^/]+)/cancel", "jobs.cancel"),
        ("POST", r"/fine_tuning/jobs/(?P<id>[^/]+)/pause", "jobs.pause"),
        ("POST", r"/fine_tuning/jobs/(?P<id>[^/]+)/resume", "jobs.resume"),
        ("GET", r"/fine_tuning/jobs/(?P<id>[^/]+)/events", "jobs.events"),
        ("GET", r"/fine_tuning/jobs/(?P<id>[^/]+)/checkpoints", "jobs.checkpoints"),
        ("GET", r"/files", "files.list"),
        ("POST", r"/files", "files.create"),
        ("GET", r"/files/(?P<id>[^/]+)", "files.retrieve"),
        ("DELETE", r"/files/(?P<id>[^/]+)", "files.delete"),
        ("GET", r"/files/(?P<id>[^/]+)/content", "files.content"),
        ("GET", r"/models", "models.list"),
        ("GET", r"/models/(?P<id>[^/]+)", "models.retrieve"),
        ("DELETE", r"/models/(?P<id>[^/]+)", "models.delete"),
        ("POST", r"/chat/completions", "chat.completions"),
        ("POST", r"/deployments/(?P<id>[^/]+)/chat/completions", "chat.deployment"),  # Azure
    ]
]


def match_route(method: str, path: str) -> tuple[str, str | None] | None:
    """(route name, target id) for a request, or None for an unknown route."""
    for m, pattern, name in ROUTE_TABLE:
        found = pattern.match(path)
        if found and m == method:
            return name, found.groupdict().get("id")
    return None


def paginate(items: list[Any], key: Callable[[Any], str], after: str | None, limit: int) -> tuple[list[Any], bool]:
    """Items after the cursor `after` (exclusive), at most `limit`, and whether more remain."""
    start = 0
    if after is not None:
        ids = [key(item) for item in items]
        start = ids.index(after) + 1 if after in ids else len(items)
    page = items[start:start + limit]
    return page, start + limit < len(items)


class Api:
    def __init__(self, ws: Workspace, *, mode: str = "realistic", result_encoding: str = "base64"):
        if mode not in render.MODES:
            raise ValueError(f"mode must be one of {render.MODES}, not {mode!r}")
        if result_encoding not in render.RESULT_ENCODINGS:
            raise ValueError(f"result_encoding must be one of {render.RESULT_ENCODINGS}")
        self.ws, self.mode, self.result_encoding = ws, mode, result_encoding
        # a job's events listed newest first and the index of each event id, for the few jobs last
        # listed: paging through a 100,000-step job's events must not render them all per page
        self._events: OrderedDict[str, tuple[tuple, list[render.Event], dict[str, int]]] = OrderedDict()
        self._chat: Any = None  # ftsync.emulator.chat.Chat, made when first asked
        self.chat_rpm: int | None = None  # requests per minute the chat endpoint allows (None: no limit)
        self._chat_times: list[float] = []
        self.deployments: dict[str, str] = {}  # Azure: deployment name -> the model it serves

    def handle(self, route: str, target: str | None, req: Request) -> Response:
        handler = getattr(self, "_" + route.replace(".", "_"))
        with self.ws.lock:
            return handler(req, target) if target is not None else handler(req)

    # ---- jobs ------------------------------------------------------------------------------
    def _job(self, job_id: str) -> JobPlan:
        plan = self.ws.jobs.get(job_id)
        if plan is None:
            raise ApiError(404, f"Could not find fine tune: {job_id}", param="fine_tune_id", code="fine_tune_not_found")
        return plan

    def _jobs_list(self, req: Request) -> Response:
        now = self.ws.now()
        plans = [self.ws.jobs[i] for i in self.ws.job_ids()]
        filters = {k[len("metadata["):-1]: v[-1] for k, v in req.query.items()
                   if k.startswith("metadata[") and k.endswith("]")}
        if req.arg("metadata") == "null":
            plans = [p for p in plans if not p.metadata]
        if filters:
            plans = [p for p in plans if p.metadata and all(p.metadata.get(k) == v for k, v in filters.items())]
        page, more = paginate(plans, lambda p: p.id, req.arg("after"), req.int_arg("limit", 20))
        data = [render.job_object(self.ws, p, now, self.mode) for p in page]
        return Response.json({"object": "list", "data": data, "has_more": more})

    def _jobs_retrieve(self, req: Request, job_id: str) -> Response:
        return Response.json(render.job_object(self.ws, self._job(job_id), self.ws.now(), self.mode))

    def _jobs_cancel(self, req: Request, job_id: str) -> Response:
        plan, now = self._job(job_id), self.ws.now()
        status = plan.status(now)
        if status in ("succeeded", "failed", "cancelled"):
            raise ApiError(400, f"Job has already completed: {job_id} is {status} and cannot be cancelled.",
                           param="fine_tune_id")
        plan.cancel(now)
        return self._jobs_retrieve(req, job_id)

    def _jobs_pause(self, req: Request, job_id: str) -> Response:
        plan, now = self._job(job_id), self.ws.now()
        if plan.status(now) != "running":
            raise ApiError(400, f"Only a running job can be paused; {job_id} is {plan.status(now)}.",
                           param="fine_tune_id")
        plan.pause(now)
        return self._jobs_retrieve(req, job_id)

    def _jobs_resume(self, req: Request, job_id: str) -> Response:
        plan, now = self._job(job_id), self.ws.now()
        if plan.status(now) != "paused":
            raise ApiError(400, f"Only a paused job can be resumed; {job_id} is {plan.status(now)}.",
                           param="fine_tune_id")
        plan.resume(now)
        return self._jobs_retrieve(req, job_id)

    def _jobs_events(self, req: Request, job_id: str) -> Response:
        plan, now = self._job(job_id), self.ws.now()
        evs, ids = self._events_newest_first(plan, now)
        after = req.arg("after")
        start = ids[after] + 1 if after in ids else (len(evs) if after else 0)
        limit = req.int_arg("limit", 20)
        page = evs[start:start + limit]
        wrong = self.ws.event_overrides.get(plan.id, {})
        data = [render.event_object(plan, e, self.mode) | wrong for e in page]
        return Response.json({"object": "list", "data": data, "has_more": start + limit < len(evs)})

    def _events_newest_first(self, plan: JobPlan, now: float) -> tuple[list[render.Event], dict[str, int]]:
        # what the events depend on: unchanged, the listing is the one rendered last time
        state = (id(plan), plan.status(now), plan.steps_done(now), tuple(plan.pauses), plan.cancelled_at)
        hit = self._events.get(plan.id)
        if hit is None or hit[0] != state:
            evs = render.events(plan, now)[::-1]
            hit = (state, evs, {render.event_id(plan, e.ordinal): i for i, e in enumerate(evs)})
            self._events[plan.id] = hit
            while len(self._events) > EVENT_LISTINGS_KEPT:
                self._events.popitem(last=False)
        self._events.move_to_end(plan.id)
        return hit[1], hit[2]

    def _jobs_checkpoints(self, req: Request, job_id: str) -> Response:
        plan = self._job(job_id)
        wrong = self.ws.checkpoint_overrides.get(plan.id, {})
        items = [c | wrong for c in render.checkpoints(plan, self.ws.now())]
        page, more = paginate(items, lambda c: c["id"], req.arg("after"), req.int_arg("limit", 10))
        return Response.json({"object": "list", "data": page, "has_more": more,
                              "first_id": page[0]["id"] if page else None,
                              "last_id": page[-1]["id"] if page else None})

    def _jobs_create(self, req: Request) -> Response:
        from .create import plan_from_request  # the create rules live in their own module

        now = self.ws.now()
        plan = plan_from_request(self, req.json_body(), now)
        self.ws.add_job(plan)
        return Response.json(render.job_object(self.ws, plan, now, self.mode))

    # ---- files -----------------------------------------------------------------------------
    def file_entry(self, file_id: str) -> FileEntry:
        """A live file (uploaded, or the result file of a succeeded job) or a 404."""
        entry = self.ws.files.get(file_id)
        if entry is not None:
            return entry
        plan = self.ws.result_job(file_id)
        if plan is not None and plan.status(self.ws.now()) == "succeeded":
            return render.result_file_entry(self.ws, plan, self.result_encoding)
        raise ApiError(404, f"No such File object: {file_id}", param="id")

    def _all_files(self, purpose: str | None) -> list[FileEntry]:
        now = self.ws.now()
        entries = [e for e in self.ws.files.values() if purpose in (None, e.purpose)]
        if purpose in (None, "fine-tune-results"):  # rendering result files costs: only when asked for
            entries += [render.result_file_entry(self.ws, plan, self.result_encoding)
                        for plan in self.ws.jobs.values() if plan.status(now) == "succeeded"]
        return entries

    def _files_list(self, req: Request) -> Response:
        entries = self._all_files(req.arg("purpose") or None)
        order = req.arg("order", "desc")
        if order not in ("asc", "desc"):
            raise ApiError(400, f"Invalid 'order': {order!r}; expected 'asc' or 'desc'.", param="order")
        entries.sort(key=lambda e: (e.created_at, e.id), reverse=order == "desc")
        page, more = paginate(entries, lambda e: e.id, req.arg("after"), req.int_arg("limit", 10000))
        empty_id = "" if self.mode == "spec" else None  # the spec makes these required strings
        return Response.json({"object": "list", "data": [render.file_object(e, self.mode) for e in page],
                              "first_id": page[0].id if page else empty_id,
                              "last_id": page[-1].id if page else empty_id, "has_more": more})

    def _files_retrieve(self, req: Request, file_id: str) -> Response:
        return Response.json(render.file_object(self.file_entry(file_id), self.mode))

    def _files_delete(self, req: Request, file_id: str) -> Response:
        if self.ws.files.pop(file_id, None) is None:
            raise ApiError(404, f"No such File object: {file_id}", param="id")
        return Response.json({"id": file_id, "object": "file", "deleted": True})

    def _files_content(self, req: Request, file_id: str) -> Response:
        entry = self.file_entry(file_id)
        return Response(200, entry.chunks(), entry.size, content_type="application/octet-stream")

    def _files_create(self, req: Request) -> Response:
        fields = parse_multipart(req.content_type, req.body)
        upload, purpose = fields.get("file"), fields.get("purpose")
        if upload is None:
            raise ApiError(400, "Missing required parameter: 'file'.", param="file")
        if purpose is None:
            raise ApiError(400, "Missing required parameter: 'purpose'.", param="purpose")
        purpose_text = purpose[1].decode()
        allowed = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
        if purpose_text not in allowed:
            raise ApiError(400, f"'{purpose_text}' is not one of {list(allowed)} - 'purpose'", param="purpose")
        filename, content = upload
        entry = self.ws.add_file(filename or "upload.jsonl", content, int(self.ws.now()), purpose_text)
        return Response.json(render.file_object(entry, self.mode))

    # ---- chat --------------------------------------------------------------------------------
    @property
    def chat(self) -> Any:
        from .chat import Chat  # (it uses this module's errors)

        if self._chat is None:
            self._chat = Chat(self.ws)
        return self._chat

    def _chat_completions(self, req: Request) -> Response:
        headers = self._rate_limit()
        return Response.json(self.chat.complete(req.json_body()), headers=headers)

    def _chat_deployment(self, req: Request, name: str) -> Response:
        """Azure names the deployment in the path; it answers as the model deployed there."""
        model = self.deployments.get(name)
        if model is None:
            raise ApiError(404, "The API deployment for this resource does not exist. If you created the deployment "
                                "within the last 5 minutes, please wait a moment and try again.",
                           code="DeploymentNotFound")
        headers = self._rate_limit()
        return Response.json(self.chat.complete({**req.json_body(), "model": model}), headers=headers)

    def _rate_limit(self) -> dict[str, str]:
        """OpenAI's request headers over a sliding minute; past the limit a 429 with retry-after."""
        limit = self.chat_rpm or 10_000
        now = self.ws.now()
        self._chat_times = [t for t in self._chat_times if t > now - 60]
        if len(self._chat_times) >= limit:
            wait = max(1, int(self._chat_times[0] + 60 - now) + 1)
            raise ApiError(429, f"Rate limit reached for requests per min (RPM): Limit {limit}. Please try again "
                                f"in {wait}s.", type="requests", code="rate_limit_exceeded",
                           headers={"retry-after": str(wait), "x-ratelimit-limit-requests": str(limit),
                                    "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": f"{wait}s"})
        self._chat_times.append(now)
        reset = max(self._chat_times[0] + 60 - now, 0.0) if self._chat_times else 0.0
        return {"x-ratelimit-limit-requests": str(limit),
                "x-ratelimit-remaining-requests": str(limit - len(self._chat_times)),
                "x-ratelimit-reset-requests": f"{reset:.3g}s"}  # as OpenAI writes it: "48.5s", "8.64s"

    # ---- models ----------------------------------------------------------------------------
    def _models(self) -> list[dict[str, Any]]:
        from .chat import shutdown_date

        now = self.ws.now()
        out = [render.model_object(m, created, "system", shutdown_date(m)) for m, created in BASE_MODELS]
        out += [render.model_object(m, int(plan.planned_end), self.ws.organization_id, shutdown_date(m, plan))
                for m, plan in self.ws.fine_tuned_models(now)]
        return out

    def _models_list(self, req: Request) -> Response:
        return Response.json({"object": "list", "data": self._models()})

    def _model(self, model_id: str) -> dict[str, Any]:
        for model in self._models():
            if model["id"] == model_id:
                return model
        raise ApiError(404, f"The model '{model_id}' does not exist", param="model", code="model_not_found")

    def _models_retrieve(self, req: Request, model_id: str) -> Response:
        return Response.json(self._model(model_id))

    def _models_delete(self, req: Request, model_id: str) -> Response:
        model = self._model(model_id)
        if model["owned_by"] == "system":
            raise ApiError(403, f"You do not have permission to delete {model_id}.", param="model")
        self.ws.deleted_models.add(model_id)
        return Response.json({"id": model_id, "object": "model", "deleted": True})


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart body: name -> (filename, bytes)."""
    if not content_type.startswith("multipart/form-data"):
        raise ApiError(400, "Expected a multipart/form-data body.")
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return fields


def auto_epochs(n_examples: int) -> int:
    """OpenAI's default-epoch heuristic (cookbook)."""
    if n_examples * 3 < 100:
        return min(25, 100 // max(1, n_examples))
    if n_examples * 3 > 25000:
        return max(1, 25000 // n_examples)
    return 3


def step_seconds(speed: float) -> float:
    return STEP_SECONDS / speed


def job_seed(ws: Workspace, job_id: str) -> int:
    return mix(ws.seed, job_id) & 0x7FFFFFFF

