"""A job field of the wrong type from the API is that job's problem, said in one line: never a crash of
`ftsync jobs`, `ftsync sync` or a dashboard page, and the other jobs go on as usual.

Every test reads over real HTTP with the real openai SDK, from an emulator whose
`Workspace.job_overrides` mistypes fields of some jobs, as a broken server or proxy would. WRONG holds
the twelve fields tried (those of the issue and more); an id that is not a string is left out of the
listing with a warning, as any id that is not a job id is (source.list_jobs).

Before this, `ftsync jobs` crashed with a traceback on created_at, finished_at, method, ... ; syncs
failed such jobs with a stray TypeError or logged them as if nothing were wrong; pages crashed.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator

import pytest

from ftsync.cli import main
from ftsync.commands import sync as _sync_command  # noqa: F401 - imported at collection (see _cli)
from ftsync.emulator import Emulator
from ftsync.ledger import Ledger
from ftsync.snapshot import job_problem, job_problems, job_view

from ..apptest import PAGES, new_app, shown

# (field, value the server sends, what the job's problem says: None for the id, left out instead)
WRONG = [
    ("created_at", "2024-01-01", "created_at is '2024-01-01', not a Unix time"),
    ("id", 5, None),
    ("status", 5, "status is 5, not a string"),
    ("hyperparameters", "x", "hyperparameters is 'x', not an object"),
    ("method", "x", "method is 'x', not an object"),
    ("finished_at", "x", "finished_at is 'x', not a Unix time"),
    ("fine_tuned_model", ["a"], "fine_tuned_model is a list, not a string"),
    ("result_files", "x", "result_files is 'x', not a list of strings"),
    ("trained_tokens", "x", "trained_tokens is 'x', not a number of tokens"),
    ("error", "x", "error is 'x', not an object"),
    ("training_file", 5, "training_file is 5, not a string"),
    ("model", 5, "model is 5, not a string"),
]
FIELDS = [w[0] for w in WRONG]
SAYS = {field: says for field, _, says in WRONG}
VALUES = {field: value for field, value, _ in WRONG}
LEFT_OUT = "left out 1 job(s) whose id is not a fine-tuning job id, e.g. <int>"


@pytest.fixture(scope="module")
def bench() -> Iterator[Emulator]:
    """A small account for the CLI: 14 succeeded jobs of 3 steps (victims first, newest first)."""
    with Emulator("bench", jobs=14, steps=3, examples=10) as emu:
        yield emu


@pytest.fixture(scope="module")
def demo() -> Iterator[Emulator]:
    """The demo account for the pages: every method and status, realistic quirks included (its own
    emulator: the session's shared demo is read-only)."""
    with Emulator("demo") as emu:
        yield emu


@pytest.fixture
def mistype():
    """`mistype(emu, {job_id: (field, value)})`: the server sends those fields wrong until the test ends."""
    used: list[Emulator] = []

    def apply(emu: Emulator, wrong: dict[str, tuple[str, object]]) -> None:
        emu.workspace.job_overrides = {job_id: {field: value} for job_id, (field, value) in wrong.items()}
        used.append(emu)

    yield apply
    for emu in used:
        emu.workspace.job_overrides = {}


def _cli(capsys, emu: Emulator, monkeypatch, *args: str) -> tuple[int, str, str]:
    """`ftsync ARGS` in-process against `emu`. ftsync.commands.sync is imported at collection above:
    ProgressLine binds sys.stderr on import, and a capsys stream bound inside one test is closed by the next."""
    monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", emu.api_key)
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ---- the check itself ----------------------------------------------------------------------------------

def test_what_real_servers_send_is_no_problem(demo):
    """Proves: the check follows the API as it is, not only the schema: `error: {}`, `hyperparameters:
    null` (DPO/RFT), status `paused`, extra fields, in both emulator modes. (Without it every demo job, or
    the paused and DPO ones, would be reported.)"""
    from openai import OpenAI

    from ftsync.source import list_jobs

    with Emulator("demo", mode="spec") as spec:
        for emu in (demo, spec):
            jobs = list_jobs(OpenAI(base_url=emu.base_url, api_key=emu.api_key))
            assert len(jobs) == 33 and [job_problem(j) for j in jobs] == [None] * 33
    statuses = {j["status"] for j in list_jobs(OpenAI(base_url=demo.base_url, api_key=demo.api_key))}
    assert {"paused", "failed", "running"} <= statuses


@pytest.mark.parametrize(("job", "says"), [
    ({"estimated_finish": "x"}, "estimated_finish is 'x', not a Unix time"),
    ({"metadata": "x"}, "metadata is 'x', not an object of strings"),
    ({"created_at": 10**12}, "created_at is 1000000000000, not a Unix time"),
    ({"created_at": True}, "created_at is true, not a Unix time"),
    ({"status": None}, "status is null, not a string"),
    ({"method": {"type": "dpo", "dpo": {"hyperparameters": "x"}}}, "method.dpo.hyperparameters is 'x', not an object"),
    ({"method": {"type": ["dpo"]}}, "method.type is a list, not a string"),
    ({"error": {"code": "x", "message": 5, "param": None}}, "error.message is 5, not a string"),
    ({"hyperparameters": {"n_epochs": [3]}}, "hyperparameters.n_epochs is a list, not 'auto' or a number"),
    ({"model": "m" * 500}, None),
])
def test_one_line_names_the_field_and_a_short_value(job, says):
    """Proves: job_problem names each wrongly-typed field with its value cut short and quoted, and a
    display view never sees the wrong value (without the check: None, and the value passed on)."""
    job = {"id": "ftjob-abc", **job}
    assert job_problem(job) == (f"job ftjob-abc: {says}" if says else None)
    view = job_view(job)
    assert view.problem == job_problem(job)
    assert [view[k] for k in job if k != "id"] == [None if says else job[k] for k in job if k != "id"]


def test_a_job_without_a_job_id_is_named_short():
    """Proves: the line names a job by a short, quoted form of whatever it has for an id."""
    assert job_problem({"id": "x" * 500, "status": 5}) == "job 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…: status is 5, not a string"
    assert job_problem({"id": 5}) == "job 5: id is 5, not a string"
    assert job_problems({"id": "ftjob-abc", "created_at": "x", "status": 5}) == [
        "created_at is 'x', not a Unix time", "status is 5, not a string"]


# ---- ftsync jobs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("field", FIELDS)
def test_ftsync_jobs_lists_the_bad_job_with_its_problem(field, bench, mistype, sync_env, monkeypatch, capsys,
                                                        caplog):
    """Proves: `ftsync jobs` lists every job, the mistyped one with its problem, exit 1 like any failed
    item (without the check: a traceback for created_at, finished_at, method; silence for the rest)."""
    ids = bench.workspace.job_ids()
    victim, value = ids[0], VALUES[field]
    mistype(bench, {victim: (field, value)})
    caplog.set_level(logging.WARNING, "ftsync.source")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = _cli(capsys, bench, monkeypatch, "jobs")
    assert not [w for w in caught if "serializ" in str(w.message)]  # said once, by ftsync, not by pydantic too
    lines = out.splitlines()
    for job_id in ids[1:]:
        row = next(line for line in lines if line.startswith(job_id))
        assert "succeeded" in row and "not synced" in row and " is " not in row
    if SAYS[field] is None:  # the id: left out, as any id that is not a job id
        assert code == 0 and lines[-1] == f"{len(ids) - 1} jobs" and LEFT_OUT in caplog.text
        assert victim not in out
        return
    assert code == 1, out + err
    row = next(line for line in lines if line.startswith(victim))
    assert row.rstrip().endswith(SAYS[field])
    assert lines[-1] == f"{len(ids)} jobs, 1 with a field of the wrong type"
    assert "Traceback" not in err
    code, out, _ = _cli(capsys, bench, monkeypatch, "jobs", "--json")
    rows = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert code == 1 and rows[victim]["problem"] == SAYS[field]
    assert [rows[j]["problem"] for j in ids[1:]] == [None] * (len(ids) - 1)


def test_ftsync_jobs_on_a_healthy_account_has_no_problem_column(demo, sync_env, monkeypatch, capsys):
    """Proves: realistic jobs (every status and method) are listed as before, exit 0."""
    code, out, err = _cli(capsys, demo, monkeypatch, "jobs")
    assert code == 0 and "problem" not in out.splitlines()[0] and out.splitlines()[-1] == "33 jobs", out + err


# ---- ftsync sync ---------------------------------------------------------------------------------------

def _sync_outcome(out: str, job_id: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(job_id))


def test_ftsync_sync_fails_each_mistyped_job_and_syncs_the_others(bench, mistype, sync_env, monkeypatch, capsys,
                                                                   caplog):
    """Proves: one sync with all twelve mistyped jobs fails each of them with its own line and syncs the
    others (needs sync._sync_one to check job_problem before fetching: without it, some are `synced`
    from wrong data and the others fail with a stray TypeError)."""
    ids = bench.workspace.job_ids()
    victims = dict(zip(ids, WRONG))
    mistype(bench, {job_id: (field, value) for job_id, (field, value, _) in victims.items()})
    caplog.set_level(logging.WARNING, "ftsync.source")
    code, out, err = _cli(capsys, bench, monkeypatch, "sync", "--no-datasets")
    assert code == 1, out + err
    ledger = Ledger.in_home(sync_env["home"])
    for job_id, (field, _, says) in victims.items():
        if says is None:
            assert job_id not in out and ledger.get("", "OpenAI-Fine-Tune", job_id) is None
            continue
        line = _sync_outcome(out, job_id)
        assert " failed " in line and f"job {job_id}: " in line, line
        record = ledger.get("", "OpenAI-Fine-Tune", job_id)
        assert record.state == "failed" and record.error == f"job {job_id}: {says}", field
    for job_id in ids[len(WRONG):]:
        assert " synced " in _sync_outcome(out, job_id)
    assert f"{len(ids) - 1} jobs: 2 synced, 11 failed" in out and LEFT_OUT in caplog.text


@pytest.mark.slow
@pytest.mark.parametrize("field", FIELDS)
def test_ftsync_sync_fails_the_mistyped_job_only(field, bench, mistype, sync_env, monkeypatch, capsys, caplog):
    """Proves, field by field: the mistyped job is a per-job `failed` with its problem as the message (in
    the ledger too), the other jobs sync, and a later sync once the server is fixed syncs it (needs the
    job_problem check in sync._sync_one; without it: synced from wrong data, or a stray TypeError)."""
    ids = bench.workspace.job_ids()[:3]
    victim, value = ids[0], VALUES[field]
    mistype(bench, {victim: (field, value)})
    caplog.set_level(logging.WARNING, "ftsync.source")
    args = ("sync", "--no-datasets", *[a for job_id in ids for a in ("--id", job_id)])
    if SAYS[field] is None:  # asked for by id, the answer's id is not the one asked for
        code, out, err = _cli(capsys, bench, monkeypatch, *args)
        assert code == 1 and "the server answered with another" in _sync_outcome(out, victim), out + err
    else:
        code, out, err = _cli(capsys, bench, monkeypatch, *args)
        assert code == 1, out + err
        assert " failed " in _sync_outcome(out, victim)
        record = Ledger.in_home(sync_env["home"]).get("", "OpenAI-Fine-Tune", victim)
        assert record.state == "failed" and record.error == f"job {victim}: {SAYS[field]}"
    for job_id in ids[1:]:
        assert " synced " in _sync_outcome(out, job_id)
    bench.workspace.job_overrides = {}  # the server is fixed
    code, out, err = _cli(capsys, bench, monkeypatch, *args)
    assert code == 0 and " synced " in _sync_outcome(out, victim), out + err


# ---- the dashboard -------------------------------------------------------------------------------------

def _session(emu: Emulator):
    return new_app({"openai_api_key": emu.api_key, "openai_base_url": emu.base_url})


def _pick_victims(emu: Emulator) -> dict[str, tuple[str, object, str | None]]:
    """Twelve demo jobs of every status and method (newest first), one wrong field each."""
    now = emu.workspace.now()
    plans = [emu.workspace.jobs[i] for i in emu.workspace.job_ids()]
    by_kind: dict[tuple[str, str], str] = {}
    for plan in plans:
        by_kind.setdefault((plan.status(now), plan.method), plan.id)
    chosen = list(by_kind.values())
    chosen += [p.id for p in plans if p.id not in chosen]
    return dict(zip(chosen, WRONG))


def _check_jobs_table(at, victims: dict[str, tuple[str, object, str | None]], n_jobs: int) -> None:
    table = at.dataframe[0].value.set_index("Job")
    bad = {job_id: says for job_id, (_, _, says) in victims.items() if says}
    assert len(table) == n_jobs - (len(victims) - len(bad))  # the id that is not a string is left out
    if not bad:
        assert "Problem" not in table.columns  # shown only when a job has one
        return
    assert {job_id: table.loc[job_id, "Problem"] for job_id in bad} == bad
    healthy = table.drop(index=list(bad))
    assert healthy["Problem"].isna().all() and (healthy["Status"] != "").all() and healthy["Created"].notna().all()


def test_every_page_renders_with_twelve_mistyped_jobs(demo, mistype, fresh_caches):
    """Proves: with twelve mistyped jobs in the account, every page renders; the Jobs table says each
    one's problem and shows the others as usual; Metrics, deep-linked to all of them and a healthy job,
    says each problem and still draws the healthy one (without the view: Home, Jobs and Metrics crash)."""
    victims = _pick_victims(demo)
    mistype(demo, {job_id: (field, value) for job_id, (field, value, _) in victims.items()})
    healthy = next(i for i in demo.workspace.job_ids() if i not in victims and
                   demo.workspace.jobs[i].status(demo.workspace.now()) == "succeeded")
    at = _session(demo)
    at.run()
    assert not at.exception, at.exception
    assert any("32 fine-tuning jobs" in h.value for h in at.subheader)
    at.switch_page("pages/2_Jobs.py").run()
    assert not at.exception, at.exception
    _check_jobs_table(at, victims, 33)
    at.query_params["job"] = [*victims, healthy]
    at.switch_page("pages/3_Metrics.py").run()
    assert not at.exception, at.exception
    problems = sorted(f"job {job_id}: {says}" for job_id, (_, _, says) in victims.items() if says)
    assert sorted(shown(e) for e in at.error) == problems
    assert at.get("vega_lite_chart"), "the healthy job's curves"
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)


@pytest.mark.slow
@pytest.mark.parametrize("field", FIELDS)
def test_every_page_with_the_mistyped_job_selected(field, demo, mistype, fresh_caches):
    """Proves, field by field: every page renders with the job present, and Jobs, Metrics and Datasets
    deep-linked to it (?job=) show its problem rather than crash (without the view: a traceback on the
    fields each page reads)."""
    victims = {job_id: w for job_id, w in _pick_victims(demo).items() if w[0] == field}
    (victim, (_, value, says)), = victims.items()
    mistype(demo, {victim: (field, value)})
    at = _session(demo)
    at.query_params["job"] = victim
    at.run()
    assert not at.exception, at.exception
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        if page == "pages/2_Jobs.py":
            _check_jobs_table(at, victims, 33)
        elif page == "pages/3_Metrics.py" and says:
            assert [shown(e) for e in at.error] == [f"job {victim}: {says}"]
        elif page == "pages/4_Datasets.py" and says:
            assert [shown(w) for w in at.warning] == [f"job {victim}: {says}"] and not at.error
        elif page in ("pages/3_Metrics.py", "pages/4_Datasets.py"):  # left out: the link is an unknown job
            mentions = [str(e.value) for e in [*at.info, *at.warning, *at.markdown, *at.caption] if victim in str(e.value)]
            assert not at.error and all("nknown" in m for m in mentions), mentions


@pytest.mark.parametrize("field", [f if f == "method" else pytest.param(f, marks=pytest.mark.slow)
                                   for f in FIELDS if SAYS[f]])
def test_metrics_says_the_problem_of_a_job_mistyped_since_the_listing(field, demo, mistype, fresh_caches):
    """Proves: the Metrics page reads a job again before drawing it, and a job mistyped since the cached
    listing is its problem on the page (without the check in ui.session.load_snapshot: a traceback for
    method and hyperparameters, curves drawn from wrong data for the others)."""
    victim, (_, value, says) = next((i, w) for i, w in _pick_victims(demo).items() if w[0] == field)
    at = _session(demo)
    at.run()  # the listing is read (and cached) while the job is healthy
    mistype(demo, {victim: (field, value)})
    at.query_params["job"] = victim
    at.switch_page("pages/3_Metrics.py").run()
    assert not at.exception, at.exception
    # the job's label (suffix · short id), then its problem; a failed job's own error may be shown too
    (error,) = [shown(e) for e in at.error if f": job {victim}: " in shown(e)]
    assert error.endswith(f": job {victim}: {says}") and victim[-5:] in error.split(":")[0], error


# ---- events and checkpoints (issue #20 item 4) ---------------------------------------------------------
# (kind, field, value the server sends in each of the job's items, what the job's problem says)
WRONG_ITEMS = [
    ("checkpoint", "metrics", "x", "metrics is 'x', not an object"),
    ("checkpoint", "metrics", {"train_loss": "x"}, "metrics.train_loss is 'x', not a number"),
    ("checkpoint", "step_number", "5", "step_number is '5', not a step number"),
    ("checkpoint", "fine_tuned_model_checkpoint", 5, "fine_tuned_model_checkpoint is 5, not a string"),
    ("checkpoint", "created_at", "yesterday", "created_at is 'yesterday', not a Unix time"),
    ("event", "data", "x", "data is 'x', not an object"),
    ("event", "created_at", "x", "created_at is 'x', not a Unix time"),
    ("event", "message", 5, "message is 5, not a string"),
    ("event", "type", ["metrics"], "type is a list, not a string"),
    ("event", "level", {}, "level is an object, not a string"),
]


def _wrong_items(emu: Emulator, job_id: str, kind: str, field: str, value: object) -> None:
    target = emu.workspace.checkpoint_overrides if kind == "checkpoint" else emu.workspace.event_overrides
    target.clear()
    target[job_id] = {field: value}


@pytest.fixture
def items_fixed():
    used: list[Emulator] = []
    yield used.append
    for emu in used:
        emu.workspace.checkpoint_overrides.clear()
        emu.workspace.event_overrides.clear()


@pytest.mark.parametrize("kind, field, value, says", WRONG_ITEMS, ids=lambda v: str(v)[:20])
def test_a_mistyped_event_or_checkpoint_fails_that_job_in_one_line(kind, field, value, says, bench, items_fixed,
                                                                      sync_env, monkeypatch, capsys):
    """Proves: the job whose events or checkpoints carry a wrong type fails with one line naming the job,
    the item and the field; the other jobs sync (without the boundary check: an internal AttributeError
    for `metrics: "x"`, and the others synced from wrong data or failing with a stray TypeError)."""
    items_fixed(bench)
    victim, other = bench.workspace.job_ids()[:2]
    _wrong_items(bench, victim, kind, field, value)
    code, out, err = _cli(capsys, bench, monkeypatch, "sync", "--no-datasets", "--id", victim, "--id", other)
    assert code == 1, out + err
    record = Ledger.in_home(sync_env["home"]).get("", "OpenAI-Fine-Tune", victim)
    assert record.state == "failed" and record.error.startswith(f"job {victim}: the server sent a {kind} "), record.error
    assert record.error.endswith(f": {says}") and "\n" not in record.error
    assert " synced " in _sync_outcome(out, other)


@pytest.mark.parametrize("kind, field, value, says",
                         [WRONG_ITEMS[0], WRONG_ITEMS[5], *[pytest.param(*w, marks=pytest.mark.slow)
                                                            for i, w in enumerate(WRONG_ITEMS) if i not in (0, 5)]],
                         ids=lambda v: str(v)[:20])
def test_every_page_with_a_job_of_mistyped_events_or_checkpoints_selected(kind, field, value, says, demo, items_fixed,
                                                                           fresh_caches):
    """Proves: with the job's events or checkpoints mistyped and the job deep-linked, no page raises, and
    Metrics says the job's problem in one line (without the check: AttributeError in metrics_view for
    `metrics: "x"`)."""
    items_fixed(demo)
    now = demo.workspace.now()
    victim = next(i for i in demo.workspace.job_ids() if demo.workspace.jobs[i].status(now) == "succeeded"
                  and demo.workspace.jobs[i].method == "supervised")
    _wrong_items(demo, victim, kind, field, value)
    at = _session(demo)
    at.query_params["job"] = victim
    at.run()
    assert not at.exception, at.exception
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        if page == "pages/3_Metrics.py":
            errors = [shown(e) for e in at.error if f"job {victim}: the server sent a {kind} " in shown(e)]
            assert len(errors) == 1 and errors[0].endswith(f": {says}"), [shown(e) for e in at.error]
