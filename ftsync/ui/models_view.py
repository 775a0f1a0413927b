"""The Models page: every fine-tuned model of the account with its deadline, what recording it costs,
a Record button (estimate first, then a confirmation), the record's progress, and the answers kept.

Recording spends the visitor's money with the visitor's own key: nothing is asked before the visitor
has seen the estimate and confirmed that amount, and the operator's `RecordLimits` bound each record.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ..catalog import JobRow
from ..connection import Connection
from ..errors import first_line
from ..record import store
from ..record.background import RecordLimits, RecordTask, start_record
from ..record.runner import Estimate, JobPlanned, RecordOptions, plan_record
from ..record.scores import SCORES
from ..record.wandb_out import table_rows
from .session import cache_key, ledger, refresh_account_data, secret_section
from .text import plain

TASK = "ftsync_record_task"  # this session's record (RecordTask)
NOTICE = "models_notice"  # why a record was not started, said on the next run
CONFIRM = "models_confirm"  # the estimate the visitor is asked to confirm: (job ids, options key, USD)
MAX_SHOWN_EXAMPLES = 1_000  # answers shown per job


def limits() -> RecordLimits:
    return RecordLimits.from_settings(secret_section())


def fine_tuned(rows: list[JobRow]) -> list[JobRow]:
    """The jobs that made a model: those still serving, soonest gone first (then those with no date
    announced), then those that no longer serve; newest first within a day."""
    made = [r for r in rows if r.status == "succeeded" and r.fine_tuned_model]

    def urgency(r: JobRow) -> tuple[int, int, int]:
        group = 2 if r.days_left is not None and r.days_left <= 0 else (1 if r.days_left is None else 0)
        return group, r.days_left or 0, -(r.created_at or 0)

    return sorted(made, key=urgency)


def label(row: JobRow) -> str:
    return f"{row.suffix or row.fine_tuned_model} · {row.id}"


@st.cache_data(ttl=600, show_spinner=False, max_entries=64)
def load_estimate(fingerprint: str, job_ids: tuple[str, ...], examples: int, checkpoints: bool, base: bool,
                  recorded: tuple[tuple[str, int], ...], _conn: Connection) -> Estimate:
    """What recording these jobs would ask and cost (no model asked). `recorded` is in the key so an
    estimate counts only what is left once answers arrive."""
    return plan_record(_options(_conn, list(job_ids), examples, checkpoints, base))


def _options(conn: Connection, job_ids: list[str], examples: int, checkpoints: bool, base: bool) -> RecordOptions:
    return RecordOptions(openai=conn.openai, wandb=conn.wandb, home=conn.home, job_ids=job_ids, examples=examples,
                         checkpoints=checkpoints, base=base, max_cost=limits().usd)


def estimate_of(conn: Connection, job_ids: list[str], examples: int, checkpoints: bool = False,
                base: bool = False) -> Estimate:
    recorded = tuple(sorted(store.recorded(ledger(conn), conn.openai.fingerprint).items()))
    return load_estimate(cache_key(conn), tuple(job_ids), examples, checkpoints, base, recorded, conn)


def default_examples(bounds: RecordLimits) -> int:
    return min(20, bounds.examples)


def table_estimate(conn: Connection, rows: list[JobRow], bounds: RecordLimits) -> tuple[Estimate | None, str | None]:
    """The estimate of recording every model (its fine-tuned model, the default examples), or why not."""
    try:
        return estimate_of(conn, [r.id for r in rows], default_examples(bounds)), None
    except Exception as exc:  # noqa: BLE001 - the table still shows the deadlines
        return None, plain(f"No estimate: {first_line(exc)}")


def models_frame(rows: list[JobRow], estimate: Estimate | None) -> pd.DataFrame:
    """One row per fine-tuned model: its deadline, what is recorded, and the estimate to record it
    (or why it cannot be: no longer served, no chat prompts)."""
    cost, left, note = {}, {}, {}
    if estimate is not None:
        note.update({job_id: why for job_id, why in estimate.skipped})
        for planned in estimate.jobs:
            job_id = planned.job["id"]
            tasks = [t for t in planned.tasks if not t.gone]
            if tasks:
                cost[job_id] = round(sum(t.cost for t in tasks), 4)
                left[job_id] = sum(t.left for t in tasks)
            note[job_id] = "; ".join(t.gone.removeprefix(f"{t.model} ") for t in planned.tasks if t.gone) or (
                "prompts from the training file (seen in training)" if planned.seen_in_training else "")
    return pd.DataFrame([{
        "Model": r.suffix or "", "Serves until": r.serves_until or "not announced", "Days left": r.days_left,
        "Recorded": r.recorded, "To ask": left.get(r.id), "Estimate (USD)": cost.get(r.id),
        "Fine-tuned model": r.fine_tuned_model, "Job": r.id, "Base model": r.model, "Note": note.get(r.id, ""),
    } for r in rows])


def column_config(examples: int) -> dict[str, Any]:
    return {
        "Days left": st.column_config.NumberColumn(help="Days until OpenAI stops serving the model (0 or less: gone)"),
        "Recorded": st.column_config.NumberColumn(help="Examples whose answers are recorded (any of its models)"),
        "To ask": st.column_config.NumberColumn(help=f"Of the first {examples} examples, those the fine-tuned model "
                                                     "has not answered yet"),
        "Estimate (USD)": st.column_config.NumberColumn(format="%.4f",
                                                        help=f"At most, to record {examples} examples of the "
                                                             "fine-tuned model (what is left of them): input tokens "
                                                             "counted, output bounded by max_tokens"),
    }


# ---- recording -------------------------------------------------------------------------------------
def record_panel(conn: Connection, rows: list[JobRow], bounds: RecordLimits) -> None:
    """Pick models and options, see the estimate, confirm it, start the record in the background."""
    task: RecordTask | None = st.session_state.get(TASK)
    by_id = {r.id: r for r in rows}
    serving = [r.id for r in rows if r.days_left is None or r.days_left > 0]
    picked = st.multiselect("Models to record", serving, key="models_pick", format_func=lambda j: label(by_id[j]),
                            placeholder="Pick one or more models", help="Each answers its job's validation "
                            "prompts (else a sample of its training file, marked seen in training)")
    c1, c2, c3 = st.columns([1, 1, 1])
    examples = c1.number_input("Examples per job", 1, bounds.examples, default_examples(bounds), key="models_examples",
                               help=f"At most {bounds.examples} here (the operator's limit)")
    checkpoints = c2.checkbox("Checkpoints too", key="models_ckpt", help="Each checkpoint's model answers as well")
    base = c3.checkbox("Base model too", key="models_base", help="The base model answers as a comparison")
    if not picked:
        st.caption("Pick models to see what recording them costs.")
        return
    try:
        with st.spinner("Estimating: reading the prompts and counting their tokens…"):
            estimate = estimate_of(conn, picked, int(examples), checkpoints, base)
    except Exception as exc:  # FtsyncError and the SDK's: one line
        st.error(plain(first_line(exc)))
        return
    requests = estimate.requests
    show_estimate(estimate, conn.demo)
    refusal = bounds.refusal(estimate)
    busy = task is not None and task.active
    why = ("A record is running" if busy else refusal or ("Nothing left to ask: every example is answered"
                                                             if not requests else None))
    key = (tuple(picked), int(examples), checkpoints, base, estimate.total)
    if refusal:
        st.error(plain(refusal))
    confirming = st.session_state.get(CONFIRM) == key
    if not confirming:
        st.button("Record…", key="models_record", type="primary", disabled=bool(why), help=why,
                  on_click=st.session_state.__setitem__, args=(CONFIRM, key))
        return
    cost = "nothing (the demo's models are free)" if conn.demo else f"up to {estimate.total:.2f} USD"
    st.warning(f"This sends {requests:,} requests to {conn.openai_label} with your key and may cost {cost}. "
               "Answers are kept as they arrive; a record stopped midway asks only what is left next time.",
               icon=":material/payments:")
    yes, no = st.columns([1, 1])
    yes.button(f"Yes, record ({cost})", key="models_confirm_yes", type="primary", disabled=bool(why),
               on_click=_start, args=(conn, estimate, bounds, picked, int(examples), checkpoints, base))
    no.button("Cancel", key="models_confirm_no", on_click=st.session_state.pop, args=(CONFIRM, None))


def show_estimate(estimate: Estimate, demo: bool) -> None:
    price = "demo: nothing is spent" if demo else f"prices: {estimate.prices}"
    if estimate.requests:
        st.markdown(f"**Estimate: at most {estimate.total:.4f} USD** for {estimate.requests:,} requests, "
                    f"{estimate.tokens_left:,} tokens at most ({price})")
    elif estimate.tasks:
        st.markdown("**Every example picked is answered**: nothing left to ask (more examples, checkpoints or the "
                    "base model would ask more).")
    if estimate.unknown_prices:
        st.caption(f"No price known for {', '.join(estimate.unknown_prices)}: the dearest assumed.")
    for job_id, why in estimate.skipped:
        st.caption(plain(f"{job_id}: not recorded: {why}"))
    for t in estimate.tasks:
        if t.gone:
            st.caption(plain(f"{t.job_id}: {t.gone}"))


def _start(conn: Connection, estimate: Estimate, bounds: RecordLimits, picked: list[str], examples: int,
           checkpoints: bool, base: bool) -> None:
    st.session_state.pop(CONFIRM, None)
    options = _options(conn, picked, examples, checkpoints, base)
    task, why = start_record(options, estimate, bounds, account=conn.account,  # a demo session is its own
                             label=f"{len(picked)} model{'s' if len(picked) != 1 else ''}")
    if task is None:
        st.session_state[NOTICE] = why
    else:
        st.session_state[TASK] = task


def progress_panel() -> None:
    """The session's record: redrawn every second while it runs; the page reruns when it ends."""
    if notice := st.session_state.pop(NOTICE, None):
        st.warning(plain(notice))
    task: RecordTask | None = st.session_state.get(TASK)
    if task is None:
        return
    active = task.active

    @st.fragment(run_every="1s" if active else None)
    def panel() -> None:
        if task.active:
            st.progress(task.fraction, text=plain(f"Recording {task.label}: {task.done} of {task.total} asked"
                                                  + (f" · {task.now}" if task.now else "")))
        elif task.error:
            st.error(plain(f"Recording {task.label} stopped: {task.error}"))
        else:
            st.success(plain(f"Recorded {task.label}: {task.summary}"))
        if active and not task.active:
            refresh_account_data()
            st.rerun()

    panel()


# ---- answers ---------------------------------------------------------------------------------------
def answers_frame(planned: JobPlanned, answers: list[store.Answer]) -> pd.DataFrame:
    """The recorded answers beside the reference, one row per example (the W&B `outputs` table's)."""
    answered = {a.model for a in answers if a.answer is not None}
    shown = JobPlanned(planned.job, [t for t in planned.tasks if t.model in answered], planned.seen_in_training,
                       planned.source)
    columns, rows = table_rows(shown, answers)
    frame = pd.DataFrame(rows, columns=columns)
    answer_columns = [c for c in columns if c.endswith(": answer")]
    frame = frame[frame[answer_columns].notna().any(axis=1)] if answer_columns else frame.iloc[0:0]
    # what says nothing here goes: no rejected answers (not preference data), not from the training file
    empty = [c for c in ("rejected", "seen_in_training") if not frame[c].fillna(False).astype(bool).any()]
    first = ["line", "reference", *(c for c in ["rejected"] if c not in empty), *answer_columns, "prompt"]
    return frame[first + [c for c in frame.columns if c not in first and c not in empty]]


def score_columns(frame: pd.DataFrame) -> list[str]:
    """Score columns that hold a value for some row."""
    return [c for c in frame.columns if c.partition(": ")[2] in SCORES and frame[c].notna().any()]


def filter_by_score(frame: pd.DataFrame, column: str | None, low: float, high: float,
                    ascending: bool = True) -> pd.DataFrame:
    """Rows whose `column` lies in [low, high] (booleans as 0/1), sorted by it; unscored rows left out."""
    if not column:
        return frame
    values = pd.to_numeric(frame[column].map(lambda v: None if v is None else float(v)), errors="coerce")
    kept = frame[(values >= low) & (values <= high)]
    return kept.assign(_by=values[kept.index]).sort_values("_by", ascending=ascending, kind="stable").drop(
        columns="_by")


def answers_panel(conn: Connection, rows: list[JobRow]) -> None:
    """The answers recorded for one job, beside the reference; sortable and filterable by score."""
    with_answers = [r for r in rows if r.recorded]
    if not with_answers:
        st.caption("No answers recorded yet for this account.")
        return
    by_id = {r.id: r for r in with_answers}
    job_id = st.selectbox("Answers of", list(by_id), key="models_answers_job", format_func=lambda j: label(by_id[j]))
    examples = min(MAX_SHOWN_EXAMPLES, max(by_id[job_id].recorded, 1))
    try:
        estimate = estimate_of(conn, [job_id], examples, checkpoints=True, base=True)
    except Exception as exc:  # noqa: BLE001 - one line, as everywhere
        st.error(plain(first_line(exc)))
        return
    if not estimate.jobs:
        st.caption(plain("; ".join(why for _, why in estimate.skipped) or "The job's prompts cannot be read now."))
        return
    frame = answers_frame(estimate.jobs[0], store.answers(ledger(conn), conn.openai.fingerprint, job_id))
    scores = score_columns(frame)
    c1, c2, c3 = st.columns([2, 2, 1])
    column = c1.selectbox("Sort and filter by score", [None, *scores], key="models_score",
                          format_func=lambda c: "(none)" if c is None else c)
    low, high = c2.slider("Score between", 0.0, 1.0, (0.0, 1.0), 0.05, key="models_score_range",
                          disabled=column is None, help="Booleans count as 0 (no) and 1 (yes)")
    worst = c3.toggle("Lowest first", value=True, key="models_worst_first", disabled=column is None)
    shown = filter_by_score(frame, column, low, high, ascending=worst)
    st.caption(f"{len(shown)} of {len(frame)} answered examples · {estimate.jobs[0].source} · click a column "
               "header to sort by it")
    st.dataframe(shown, hide_index=True, width="stretch", key="models_answers",
                 column_config={"prompt": st.column_config.TextColumn(width="large"),
                                "reference": st.column_config.TextColumn(width="medium"),
                                **{c: st.column_config.TextColumn(width="medium")
                                   for c in shown.columns if c.endswith(": answer")}})
