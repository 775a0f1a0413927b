"""`ftsync record`: each chosen model answers its job's prompts; the answers go to the ledger as they
arrive and then, with their scores, into the job's W&B run.

Two steps, so nothing is spent before the user has seen the cost: `plan_record` reads the jobs and
files and counts every input token (no model is asked), `run_record` asks. Asking is bounded
(`concurrency` at once, slowed when OpenAI's `x-ratelimit-remaining-requests` runs low; 429s and 5xx
retried by the SDK, `retry-after` honoured), and resumable: what the ledger holds is not asked again.
A model that no longer serves (past its date, or 404 `model_not_found`) is one line; the others go on.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from ..datasets.tokens import PER_MESSAGE, encoding_for_model, message_tokens, tools_tokens
from ..errors import AuthError, ConfigError, FtsyncError, describe_openai_error
from ..filecache import FileCache
from ..ledger import Ledger
from ..settings import OpenAISettings, WandbSettings, ftsync_home
from ..source import fetch_dataset, list_checkpoints, list_jobs, retrieve_job
from . import DEFAULT_CONCURRENCY, DEFAULT_EXAMPLES, DEFAULT_MAX_COST, store
from .deadlines import Deadline, deadline, listed_shutdowns
from .prices import SOURCE as PRICES_SOURCE
from .prices import cost, rates
from .prompts import Example, examples_from, max_tokens_for

GONE = "no longer serves"
AZURE_DATES = "an Azure deployment: retired on Azure's own dates (see the deployment in Azure AI Foundry)"
NO_DEPLOYMENT = ("Azure has no deployment {0!r} on this resource: deploy the job's fine-tuned model under that "
                 "name (or pass the name it has with --deployment JOB=NAME), then record again")
REPLY_TOKENS = 3  # every reply is primed with <|start|>assistant<|message|>


@dataclass
class RecordOptions:
    openai: OpenAISettings | None = None  # read from the environment when neither this nor client is given
    client: openai.OpenAI | None = None
    wandb: WandbSettings = field(default_factory=WandbSettings.from_env)
    job_ids: list[str] | None = None  # None: every succeeded job
    limit: int | None = None  # only the N most recent succeeded jobs
    checkpoints: bool = False  # each checkpoint's model answers too
    base: bool = False  # and the base model, as a comparison
    file: Path | None = None  # prompts of the user's own (JSONL), instead of the job's files
    examples: int = DEFAULT_EXAMPLES  # per job
    concurrency: int = DEFAULT_CONCURRENCY
    max_cost: float = DEFAULT_MAX_COST  # USD
    temperature: float = 0.0
    seed: int = 0
    deployments: dict[str, str] = field(default_factory=dict)  # Azure: job id -> deployment of its model
    home: Path | None = None
    log_to_wandb: bool = True
    max_seconds: float | None = None  # then nothing more is asked (what is answered is kept)


@dataclass
class ModelTask:
    """One model of one job, with its prompts and what answering them costs at most."""

    job_id: str
    model: str  # what the request names (Azure: the deployment)
    role: str  # fine-tuned | checkpoint step N | base
    examples: list[Example]
    input_tokens: int
    output_tokens: int  # the bound: the sum of each request's max_tokens
    max_tokens: list[int]
    deadline: Deadline
    done: set[int] = field(default_factory=set)  # lines answered already (ledger)
    gone: str | None = None  # why it no longer serves
    served: str = ""  # the model that answers (Azure: the one deployed), for prices and tokens

    @property
    def left(self) -> int:
        """Examples not answered yet (the requests a record would send)."""
        return sum(1 for e in self.examples if e.line not in self.done)

    @property
    def share_left(self) -> float:
        return self.left / len(self.examples) if self.examples else 0.0

    @property
    def cost(self) -> float:
        share = self.share_left
        return cost(self.served or self.model, int(self.input_tokens * share), int(self.output_tokens * share))


@dataclass
class JobPlanned:
    job: dict[str, Any]
    tasks: list[ModelTask]
    seen_in_training: bool  # the prompts come from the training file (no validation file)
    source: str  # where the prompts come from


@dataclass
class Estimate:
    jobs: list[JobPlanned]
    skipped: list[tuple[str, str]]  # (job id, why it is not recorded)
    prices: str = PRICES_SOURCE

    @property
    def tasks(self) -> list[ModelTask]:
        return [t for j in self.jobs for t in j.tasks]

    @property
    def total(self) -> float:
        return round(sum(t.cost for t in self.tasks if not t.gone), 4)

    @property
    def requests(self) -> int:
        """What a record would ask: every example not answered yet, of every model still serving."""
        return sum(t.left for t in self.tasks if not t.gone)

    @property
    def tokens_left(self) -> int:
        """Input and (bounded) output tokens of those requests."""
        return sum(int((t.input_tokens + t.output_tokens) * t.share_left) for t in self.tasks if not t.gone)

    @property
    def unknown_prices(self) -> list[str]:
        return sorted({t.served or t.model for t in self.tasks if not rates(t.served or t.model)[2]})


@dataclass
class TaskOutcome:
    job_id: str
    model: str
    answered: int
    asked: int  # requests sent by this run
    failed: int
    gone: str | None = None
    scores: dict[str, float] = field(default_factory=dict)  # means over the answered examples


@dataclass
class RecordReport:
    outcomes: list[TaskOutcome]
    wandb: list[tuple[str, str]]  # (job id, run path or the problem writing it)
    seconds: float = 0.0
    stopped: str | None = None  # why asking stopped before the end (max_seconds)

    @property
    def ok(self) -> bool:
        return not any(o.failed for o in self.outcomes)


# ---- planning ------------------------------------------------------------------------------------
def _client(options: RecordOptions) -> tuple[openai.OpenAI, str]:
    from ..sync import openai_client

    return openai_client(options.client, options.openai)


def _jobs(client: openai.OpenAI, options: RecordOptions) -> list[dict[str, Any]]:
    if options.job_ids:
        return [retrieve_job(client, j) for j in dict.fromkeys(options.job_ids)]
    done = [j for j in list_jobs(client) if j.get("status") == "succeeded"]
    return done[: options.limit] if options.limit is not None else done


def plan_record(options: RecordOptions) -> Estimate:
    """Every job's models and prompts, with input tokens counted exactly and outputs bounded by
    max_tokens; asks no model. ConfigError/AuthError for bad options or keys."""
    if options.examples < 1 or options.concurrency < 1 or not options.max_cost >= 0:
        raise ConfigError("--examples and --concurrency must be at least 1, --max-cost 0 or more")
    client, key_fp = _client(options)
    with contextlib.nullcontext() if options.client is not None else client:  # a client made here is closed here
        return _plan(client, key_fp, options)


def _plan(client: openai.OpenAI, key_fp: str, options: RecordOptions) -> Estimate:
    home = Path(options.home) if options.home else ftsync_home()
    ledger, cache = Ledger.in_home(home), FileCache(home, key_fp)
    served = listed_shutdowns(client)
    planned, skipped = [], []
    for job in _jobs(client, options):
        try:
            item = _plan_job(client, job, options, cache, served, ledger, key_fp)
        except AuthError:
            raise
        except FtsyncError as exc:
            skipped.append((job.get("id", "?"), str(exc)))
            continue
        if isinstance(item, str):
            skipped.append((job["id"], item))
        else:
            planned.append(item)
    return Estimate(planned, skipped)


def _plan_job(client: openai.OpenAI, job: dict[str, Any], options: RecordOptions, cache: FileCache,
              served: dict[str, Any], ledger: Ledger, account: str) -> JobPlanned | str:
    if job.get("status") != "succeeded" or not job.get("fine_tuned_model"):
        return f"job is {job.get('status')}: no fine-tuned model to ask"
    if options.file is not None:
        examples, seen, source = examples_from(options.file, limit=options.examples), False, str(options.file)
    else:
        file_id = job.get("validation_file") or job.get("training_file")
        seen = not job.get("validation_file")
        if not file_id:
            return "no training or validation file to take prompts from"
        ref = fetch_dataset(client, cache, "valid" if not seen else "train", file_id)
        if ref.error or ref.path is None:
            return ref.error or f"file {file_id} could not be read"
        examples = examples_from(ref.path, limit=options.examples, seen_in_training=seen)
        source = f"{'training' if seen else 'validation'} file {file_id}" + (" (seen in training)" if seen else "")
    if not examples:
        return f"no chat examples in the {source}"
    models = [(job["fine_tuned_model"], "fine-tuned", job["fine_tuned_model"])]
    if options.checkpoints:
        for ckpt in list_checkpoints(client, job["id"]):
            name = ckpt.get("fine_tuned_model_checkpoint")
            if isinstance(name, str) and name != job["fine_tuned_model"]:
                models.append((name, f"checkpoint step {ckpt.get('step_number')}", name))
    if options.base and isinstance(job.get("model"), str):
        models.append((job["model"], "base", job["model"]))
    if options.deployments or _is_azure(client):
        deployment = options.deployments.get(job["id"])
        if deployment is None:
            return (f"Azure serves a fine-tuned model only once deployed: name its deployment with "
                    f"--deployment {job['id']}=NAME")
        models = [(deployment, "fine-tuned", job["fine_tuned_model"])]  # it serves the job's model
    done = {(a.model, a.line) for a in store.answers(ledger, account, job["id"]) if a.answer is not None}
    tasks = [_task(job["id"], model, role, examples, served, done, answers_as)
             for model, role, answers_as in models]
    return JobPlanned(job, tasks, seen, source)


def _is_azure(client: openai.OpenAI) -> bool:
    return isinstance(client, openai.AzureOpenAI)


def _task(job_id: str, model: str, role: str, examples: list[Example], served: dict[str, Any],
          done: set[tuple[str, int]], answers_as: str) -> ModelTask:
    enc = encoding_for_model(_encoding_model(answers_as))
    counter = enc.counter()
    inputs, limits = 0, []
    for ex in examples:
        inputs += sum(message_tokens(counter, m)[0] for m in ex.messages) + tools_tokens(counter, ex.options)
        inputs += REPLY_TOKENS
        reference = None if ex.reference is None else message_tokens(counter, ex.reference)[0] - PER_MESSAGE
        limits.append(max_tokens_for(reference))
    # Azure keeps a deployment on its own dates, not OpenAI's: a deployment has none announced here
    until = deadline(model, served.get(model)) if answers_as == model else Deadline(None, AZURE_DATES)
    task = ModelTask(job_id, model, role, examples, inputs, sum(limits), limits, until,
                     done={line for m, line in done if m == model}, served=answers_as)
    if not until.serving():
        task.gone = f"{model} {GONE} (since {until.until}; {until.source})"
    return task


def _encoding_model(model: str) -> str:
    from ..datasets.prices import MODELS, resolve_model

    try:
        return resolve_model(model).name
    except FtsyncError:
        return next(iter(MODELS))  # a deployment name: o200k_base, as the current models use


# ---- asking --------------------------------------------------------------------------------------
ProgressFn = Callable[[str, int, int], None]  # (text, done, total)


RESET_SLACK = 1.0  # seconds waited past an announced rate-limit reset


class _Pace:
    """Concurrency that follows OpenAI's rate-limit headers: when few requests are left in the
    window, wait until it resets instead of collecting 429s."""

    def __init__(self, concurrency: int):
        self.slots = threading.Semaphore(concurrency)
        self.lock = threading.Lock()
        self.resume_at = 0.0
        self.concurrency = concurrency

    def before(self) -> None:
        self.slots.acquire()
        with self.lock:
            wait = self.resume_at - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, 60))

    def after(self, headers: Any) -> None:
        try:
            self._note(headers)
        finally:  # the pause is set before the slot is free: no request slips in between
            self.slots.release()

    def _note(self, headers: Any) -> None:
        if headers is None:
            return
        try:
            remaining = int(headers.get("x-ratelimit-remaining-requests", "-1"))
        except (TypeError, ValueError):
            return
        if 0 <= remaining <= self.concurrency:
            # a server may round its reset time down: a little after it, not at it
            reset = _seconds(headers.get("x-ratelimit-reset-requests")) + RESET_SLACK
            with self.lock:
                self.resume_at = max(self.resume_at, time.monotonic() + reset)


def _seconds(text: Any) -> float:
    """OpenAI's reset durations: `1s`, `6m0s`, `20ms`."""
    if not isinstance(text, str):
        return 1.0
    total, number = 0.0, ""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = "ms" if text.startswith("ms", i) else ch
        i += len(unit)
        try:
            total += float(number or 0) * units.get(unit, 1)
        except ValueError:
            return 1.0
        number = ""
    return min(total, 60.0) if total else 1.0


def run_record(options: RecordOptions, estimate: Estimate, progress: ProgressFn | None = None) -> RecordReport:
    """Ask every model of the estimate what it has not answered yet; record each answer as it arrives;
    then write each job's outputs into its W&B run."""
    started = time.monotonic()
    client, account = _client(options)
    home = Path(options.home) if options.home else ftsync_home()
    ledger = Ledger.in_home(home)
    pace = _Pace(options.concurrency)
    outcomes = []
    total = estimate.requests
    counter = {"done": 0, "left": 0}
    lock = threading.Lock()
    until = started + options.max_seconds if options.max_seconds else None
    with contextlib.nullcontext() if options.client is not None else client:
        with ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="ftsync-record") as pool:
            asked = [_ask_all(client, task, options, ledger, account, pace, pool, progress, counter, total, lock,
                              until)
                     for task in estimate.tasks]  # every model's requests queued at once, `concurrency` in flight
            try:
                for outcome, futures in asked:
                    for f in futures:
                        f.result()
                    outcomes.append(outcome)
            except openai.AuthenticationError as exc:  # the key was revoked midway: one line, the rest kept
                raise AuthError(describe_openai_error(exc, "answering")) from None
        written = []
        if options.log_to_wandb:
            from .wandb_out import write_outputs

            for planned in estimate.jobs:
                answers = store.answers(ledger, account, planned.job["id"])
                if not any(a.answer is not None for a in answers):  # no run is opened for an empty table
                    written.append((planned.job["id"], "not written: no model of the job answered"))
                    continue
                try:
                    written.append((planned.job["id"], write_outputs(planned, answers, options, ledger)))
                except FtsyncError as exc:
                    written.append((planned.job["id"], f"not written to W&B: {exc}"))
    for outcome in outcomes:
        outcome.scores = _means(estimate, outcome, store.answers(ledger, account, outcome.job_id))
    stopped = (f"stopped after {options.max_seconds:g} s (the time limit): {counter['left']} examples left, "
               "asked when recorded again") if counter["left"] else None
    return RecordReport(outcomes, written, time.monotonic() - started, stopped)


def _ask_all(client: openai.OpenAI, task: ModelTask, options: RecordOptions, ledger: Ledger, account: str,
             pace: _Pace, pool: ThreadPoolExecutor, progress: ProgressFn | None, counter: dict[str, int],
             total: int, lock: threading.Lock, until: float | None = None) -> tuple[TaskOutcome, list[Any]]:
    """The task's requests, submitted; its outcome fills in as they end."""
    outcome = TaskOutcome(task.job_id, task.model, answered=len(task.done), asked=0, failed=0, gone=task.gone)
    if task.gone:
        store.put(ledger, account, store.Answer(task.job_id, task.model, 0, None, task.gone))
        return outcome, []
    stop = threading.Event()

    def one(index: int) -> None:
        ex = task.examples[index]
        if stop.is_set():
            return
        if until is not None and time.monotonic() >= until:  # out of time: left for the next record
            with lock:
                counter["left"] += 1
            return
        pace.before()
        headers = None
        try:
            if stop.is_set():
                return
            t0 = time.monotonic()
            request = _request(task, ex, options, task.max_tokens[index])
            raw = client.chat.completions.with_raw_response.create(**request)
            headers, response = raw.headers, raw.parse()
            latency = time.monotonic() - t0
            choice = response.choices[0] if response.choices else None
            answer = {
                "message": choice.message.model_dump(mode="json", exclude_none=True) if choice else None,
                "finish_reason": choice.finish_reason if choice else None,
                "usage": response.usage.model_dump(mode="json") if response.usage else None,
                "latency_s": round(latency, 3), "response_id": response.id, "model": response.model,
            }
            store.put(ledger, account, store.Answer(task.job_id, task.model, ex.line, answer))
            with lock:
                outcome.answered += 1
        except openai.NotFoundError as exc:
            if not stop.is_set():
                stop.set()
                outcome.gone = (NO_DEPLOYMENT.format(task.model) if getattr(exc, "code", None) == "DeploymentNotFound"
                                else f"{task.model} {GONE} ({describe_openai_error(exc, 'answering')})")
                store.put(ledger, account, store.Answer(task.job_id, task.model, 0, None, outcome.gone))
        except openai.AuthenticationError:
            stop.set()
            raise
        except openai.OpenAIError as exc:
            with lock:
                outcome.failed += 1
            store.put(ledger, account, store.Answer(task.job_id, task.model, ex.line, None,
                                                    describe_openai_error(exc, "answering")))
        finally:
            pace.after(headers)
            with lock:
                outcome.asked += 1
                counter["done"] += 1
                if progress:
                    progress(f"{task.job_id} {task.role}", counter["done"], total)

    return outcome, [pool.submit(one, i) for i, ex in enumerate(task.examples) if ex.line not in task.done]


def _request(task: ModelTask, ex: Example, options: RecordOptions, max_tokens: int) -> dict[str, Any]:
    request: dict[str, Any] = {"model": task.model, "messages": ex.messages, "seed": options.seed,
                               "max_completion_tokens": max_tokens}
    if not task.model.startswith(("o1", "o3", "o4")) and ":o4-" not in task.model:
        request["temperature"] = options.temperature  # reasoning models take only their default
    request.update(ex.options)
    return request


def _means(estimate: Estimate, outcome: TaskOutcome, answers: list[store.Answer]) -> dict[str, float]:
    from .scores import SCORES, score

    task = next(t for t in estimate.tasks if t.job_id == outcome.job_id and t.model == outcome.model)
    by_line = {a.line: a for a in answers if a.model == outcome.model and a.answer is not None}
    sums: dict[str, list[float]] = {k: [] for k in SCORES}
    for ex in task.examples:
        found = by_line.get(ex.line)
        if found is None:
            continue
        for key, value in score(found.answer.get("message"), ex.reference, ex.rejected).items():
            if value is not None:
                sums[key].append(float(value))
    return {k: round(sum(v) / len(v), 4) for k, v in sums.items() if v}

