"""The Datasets page's parts: which file is checked (a job's, an account file or an upload), with
which base model, its tiles and findings, and the searchable, paged examples table.

A keyed widget keeps its value whatever `index` or `value` later runs pass, so what must follow the
file (the base model, the page number) is written to session state before the widget is drawn,
whenever the file changes; so is a value that is no longer among a widget's options. The choice of
file and model is kept for the session (`persist_state`): back from another page, the same file shows.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from ..connection import Connection
from ..datasets import MODELS, DatasetError, DatasetReport, resolve_model
from ..datasets.codes import FindingLog
from ..datasets.formats import compatible, example_kind
from ..datasets.reader import LineReader, Source
from ..datasets.tables import row
from ..snapshot import JobView
from .session import cache_key, inspect_file, inspect_upload, load_files
from .tables import utc_time
from .text import plain

SOURCE, JOB, ROLE, FILE, UPLOAD = "datasets_source", "datasets_job", "datasets_role", "datasets_file", "datasets_upload"
MODEL, SEARCH, PAGE = "datasets_model", "datasets_search", "datasets_page"
MODEL_FOR = "datasets_model_for"  # the file the model box was last set for
PAGE_FOR = "datasets_page_for"  # the file the page number belongs to
LINKED = "datasets_linked"  # the ?job= deep link already applied (applied once, then the widgets rule)

JOB_FILE, ACCOUNT_FILE, UPLOAD_FILE = "A job's file", "A fine-tune file of the account", "Upload a JSONL file"
FALLBACK_MODEL = "gpt-4o-mini-2024-07-18"  # for a file whose format is not recognised
PAGE_SIZE = 50
FINDINGS_ROWS = 10  # findings shown without scrolling the table
ROW_PX = 35  # st.dataframe's row (and header) height
# The format as `ftsync validate` names it, and what it means (the tile's "?").
FORMAT_HELP = {"chat": "Supervised fine-tuning (SFT): conversations, tools, weights and images included",
               "preference": "Direct preference optimization (DPO): a prompt with a preferred and a non-preferred output",
               "reinforcement": "Reinforcement fine-tuning (RFT): conversations with the fields a grader reads",
               "legacy": "The legacy prompt/completion format, for babbage-002 and davinci-002"}
NO_JOBS = ("**No fine-tuning jobs yet** in this account. You can still check a training file before your "
           "first job: upload a JSONL file below, or pick a file already uploaded to the account. "
           "Once a job is created (in OpenAI's dashboard or with the API), its files show here too.")


@dataclass(frozen=True)
class Picked:
    """The file the page checks."""

    key: str  # what names the file: the model box and the page number follow it
    file_id: str | None = None  # an account file...
    data: bytes | None = None  # ...or an upload
    validation_id: str | None = None  # a training file's validation file, checked for shared examples
    model: str | None = None  # the job's base model (a name of MODELS); None: the format's default
    validation: bool = False  # a validation file: no epochs or cost of its own
    note: str = ""  # said under the model box


def keep_valid(key: str, options: list, default: object) -> None:
    """Before a keyed widget: a value no longer among its options (another job's role, an account's
    file after a refresh) gives way to `default`."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def table_model(name: object) -> str | None:
    """The MODELS name of a job's `model` (alias or `ft:` model included); None when not in the table."""
    try:
        return resolve_model(str(name)).name if name else None
    except DatasetError:
        return None


# ---- which file ---------------------------------------------------------------------------------

def follow_link(jobs: dict[str, JobView]) -> str | None:
    """Apply a new ?job= deep link (that job's file); returns the id it names when the account has no such job."""
    wanted = st.query_params.get("job")
    if wanted and wanted != st.session_state.get(LINKED):
        st.session_state[LINKED] = wanted
        st.session_state[SOURCE] = JOB_FILE
        st.session_state[JOB] = wanted if wanted in jobs else None  # never another job in its place
    return wanted if wanted and wanted not in jobs else None


def _link_job() -> None:
    """Keep the address bar a link to the job shown."""
    if st.session_state.get(JOB):
        st.query_params["job"] = st.session_state[JOB]
        st.session_state[LINKED] = st.session_state[JOB]


def _unlink_job() -> None:
    if st.session_state.get(SOURCE) != JOB_FILE and "job" in st.query_params:
        del st.query_params["job"]
        st.session_state.pop(LINKED, None)


def source_kind(jobs: dict[str, JobView]) -> str:
    kinds = [JOB_FILE, ACCOUNT_FILE, UPLOAD_FILE] if jobs else [ACCOUNT_FILE, UPLOAD_FILE]
    keep_valid(SOURCE, kinds, JOB_FILE if jobs else UPLOAD_FILE)
    return st.radio("Source", kinds, horizontal=True, key=SOURCE, on_change=_unlink_job, persist_state="session")


def job_label(job: JobView) -> str:
    return " · ".join(str(p) for p in (job.get("user_provided_suffix") or "no suffix", job.get("model") or "model unknown",
                                       job.get("status") or "status unknown", job["id"]))


def job_source(jobs: dict[str, JobView], unknown: str | None) -> Picked | None:
    """A job and one of its files (training or validation); None until a job is picked."""
    ids = list(jobs)
    keep_valid(JOB, [*ids, None] if unknown else ids, None if unknown else ids[0])
    job_id = st.selectbox("Job", ids, index=None, key=JOB, format_func=lambda i: job_label(jobs[i]),
                          on_change=_link_job, placeholder="Pick a job", persist_state="session")
    if job_id is None:
        st.info("Pick a job to check its files.")
        return None
    job = jobs[job_id]
    if job.problem:  # its fields of the wrong type read as missing below
        st.warning(plain(job.problem))
    roles = {"training": job.get("training_file")}
    if job.get("validation_file"):
        roles["validation"] = job["validation_file"]
    keep_valid(ROLE, list(roles), "training")
    role = st.radio("File", list(roles), horizontal=True, key=ROLE, persist_state="session")
    if not roles[role]:
        st.info("This job names no training file.")
        return None
    model = table_model(job.get("model"))
    note = "" if model or not job.get("model") else (
        f"This job's base model, {job['model']}, is not in ftsync's price table: the counts and cost below use "
        "the model picked here.")
    return Picked(key=f"job:{job_id}:{role}", file_id=roles[role], model=model, note=note,
                  validation_id=job.get("validation_file") if role == "training" else None,
                  validation=role == "validation")


def file_label(f: dict) -> str:
    created = utc_time(f.get("created_at"))
    return " · ".join(p for p in (str(f.get("filename") or "unnamed"), f"{f.get('bytes') or 0:,} bytes",
                                  f"{created} UTC" if created else "", str(f["id"])) if p)


def account_source(conn: Connection, jobs: dict[str, JobView]) -> Picked | None:
    files = {f["id"]: f for f in load_files(cache_key(conn), conn)}
    if not files:
        st.info("The account has no fine-tune files yet: upload a JSONL file to check it.")
        return None
    keep_valid(FILE, list(files), next(iter(files)))
    file_id = st.selectbox("File", list(files), key=FILE, format_func=lambda i: file_label(files[i]),
                           persist_state="session")
    # A file only ever given to jobs as their validation file is one: no epochs or cost of its own.
    training = {j.get("training_file") for j in jobs.values()}
    validation = file_id not in training and any(j.get("validation_file") == file_id for j in jobs.values())
    return Picked(key=f"file:{file_id}", file_id=file_id, validation=validation)


def upload_source() -> Picked | None:
    upload = st.file_uploader("JSONL file", type=["jsonl", "json", "txt"], key=UPLOAD)
    if upload is None:
        return None
    data = upload.getvalue()
    return Picked(key=f"upload:{hashlib.sha256(data).hexdigest()}", data=data)


# ---- inspection and the base model ----------------------------------------------------------------

def _inspect(conn: Connection, picked: Picked, model: str | None) -> tuple[Source, DatasetReport]:
    if picked.data is not None:
        return picked.data, inspect_upload(conn.fingerprint, picked.key, model, picked.data)
    return inspect_file(cache_key(conn), picked.file_id, model, picked.validation_id, conn)


def default_model(conn: Connection, picked: Picked) -> str:
    """A job's base model; else the one OpenAI's format implies (babbage-002 for prompt/completion)."""
    return picked.model or _inspect(conn, picked, None)[1].model or FALLBACK_MODEL


def model_box(picked: Picked, default: str) -> str:
    """The base model box: set to the file's `default` whenever the file changes, then the reader's choice."""
    if st.session_state.get(MODEL_FOR) != picked.key or st.session_state.get(MODEL) not in MODELS:
        st.session_state[MODEL] = default
        st.session_state[MODEL_FOR] = picked.key
    model = st.selectbox("Base model (for token counts, limits and cost)", list(MODELS), key=MODEL,
                         persist_state="session")
    if picked.note:
        st.caption(plain(picked.note))
    return model


def inspect_with(conn: Connection, picked: Picked, model: str) -> tuple[Source, DatasetReport]:
    """The file checked for `model`: the model the tiles' tokens and cost are computed with, always."""
    if picked.model is None:  # the default model's report is cached already: no second pass
        source, auto = _inspect(conn, picked, None)
        if auto.model == model:
            return source, auto
    return _inspect(conn, picked, model)


# ---- what the check found -----------------------------------------------------------------------

def money(usd: float) -> str:
    """Dollars as `ftsync validate` prints them: cents from $1, else four decimals (a small file costs $0.0005)."""
    return f"${usd:,.2f}" if usd >= 1 else f"${usd:.4f}"


def tiles(report: DatasetReport, validation: bool) -> None:
    """The file's numbers as tiles that wrap on a narrow screen (never truncated); a validation file has
    no epochs or cost of its own. Only the tiles that need it explain themselves: six "?" icons would
    push the cost to a second row at 1400 px."""
    fmt = report.format or ""
    exact = report.tokens.get("exact", True)
    shown: list[tuple[str, str, str | None]] = [
        ("Format", fmt or "unknown", FORMAT_HELP.get(fmt, "No example matched a known format: see the findings")),
        ("Examples", f"{report.examples:,}", None),
        ("Tokens" if exact else "Tokens (estimate)", f"{report.tokens.get('total', 0):,}", None),
        ("Trained tokens", "–" if fmt == "reinforcement" else f"{report.tokens.get('assistant', 0):,}", None)]
    if not validation:
        cost = report.estimated_cost_usd
        shown += [("Epochs (default)", str(report.n_epochs) if report.n_epochs is not None else "–",
                   f"OpenAI's default for {report.examples:,} examples; a job can set its own"),
                  ("Estimated cost", money(cost) if cost is not None else "–",
                   f"Training on {report.model or 'the model'} for the default epochs (how: below)")]
    box = st.container(horizontal=True, gap="small")
    for label, value, tip in shown:
        box.metric(label, value, help=tip, border=True, width="content")


def cost_caption(report: DatasetReport, validation: bool) -> str:
    """How the cost was reached, naming the model it was priced for."""
    if validation:
        return "A validation file: it adds no epochs or training cost of its own (see its training file)."
    if report.cost_note:
        return report.cost_note
    base = MODELS.get(report.model or "")
    if report.estimated_cost_usd is None or base is None or base.usd_per_1m is None:
        return ""
    billed = report.tokens.get("billed_per_epoch", 0)
    return (f"Cost for {base.name}: ${base.usd_per_1m:,.2f} per 1M training tokens × {billed:,} tokens × "
            f"{report.n_epochs} epochs (OpenAI's default for {report.examples:,} examples).")


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def verdict(report: DatasetReport) -> None:
    errors, warnings = report.error_count, report.warning_count  # all of them, not only those listed
    also = f" and {plural(warnings, 'warning')}" if warnings else ""
    if errors:
        st.error(f"{plural(errors, 'error')}{also}: OpenAI would reject this file.")
    elif warnings:
        st.warning(f"{plural(warnings, 'warning')}: OpenAI would accept the file, but look at them first.")
    else:
        st.success("No problems found.")


def findings_frame(report: DatasetReport) -> pd.DataFrame:
    """The listed findings as text columns; a finding about the whole file says so in its line cell."""
    rows = [{"severity": f.severity, "line": "whole file" if f.line is None else str(f.line), "code": f.code,
             "message": f.message} for f in report.findings]
    return pd.DataFrame(rows, columns=["severity", "line", "code", "message"])


def findings_height(rows: int) -> int:
    """Pixels for the findings table: up to FINDINGS_ROWS rows whole, plus room for a horizontal scrollbar
    (a desktop browser's scrollbar takes ~10 px: with Streamlit's own fit, it cut the last row)."""
    return (min(rows, FINDINGS_ROWS) + 1) * ROW_PX + 5 + 12


# The message is what a reader needs: it gets the room.
FINDINGS_COLUMNS = {"severity": st.column_config.TextColumn("severity", width="small"),
                    "line": st.column_config.TextColumn("line", width="small"),
                    "code": st.column_config.TextColumn("code", width="medium"),
                    "message": st.column_config.TextColumn("message", width="large")}


# ---- the examples table -------------------------------------------------------------------------

def count_matches(source: Source, fmt: str, search: str) -> int:
    """How many examples `table_frame(source, fmt, search=search)` pages through: the same rows, the
    same rule (case-insensitive, in any text cell). One streaming pass, nothing held."""
    needle = search.casefold()
    n = 0
    for rec in LineReader(source, log=FindingLog(keep=0)):  # only lines that parse
        if isinstance(rec.value, dict) and compatible(example_kind(rec.value), fmt):
            cells = row(fmt, rec.line, rec.value).values()
            n += any(needle in str(v).casefold() for v in cells if not isinstance(v, int))
    return n


@st.cache_data(ttl=600, show_spinner=False, max_entries=64)
def cached_matches(file_key: str, fmt: str, search: str, _source: Source) -> int:
    """count_matches, once per file (`file_key` names it for this account) and search text."""
    return count_matches(_source, fmt, search)


def page_count(total: int) -> int:
    return max(1, math.ceil(total / PAGE_SIZE))


def _first_page() -> None:
    st.session_state[PAGE] = 1  # a new search starts at its first match


def search_box() -> str:
    return st.text_input("Search", key=SEARCH, placeholder="text in any column", on_change=_first_page).strip()


def page_box(file_key: str, pages: int) -> int:
    """The page number, 1..pages: back to 1 for another file, clamped when the pages shrink."""
    if st.session_state.get(PAGE_FOR) != file_key:
        st.session_state[PAGE], st.session_state[PAGE_FOR] = 1, file_key
    st.session_state[PAGE] = min(max(1, int(st.session_state.get(PAGE) or 1)), pages)
    return int(st.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, step=1, key=PAGE))


def page_caption(page: int, pages: int, shown: int, total: int, search: str) -> str:
    matching = f" matching “{search}”" if search else ""
    if not total:
        return f"No example{matching}."
    first = (page - 1) * PAGE_SIZE + 1
    return f"Page {page} of {pages}: examples {first:,}–{first + shown - 1:,} of {total:,}{matching}."
