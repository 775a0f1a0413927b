"""Two visitors of one dashboard process never see each other's syncs: ledger rows, history, offline
runs, upload commands, background tasks; demo state is per session, under FTSYNC_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftsync.emulator import Emulator

from ..apptest import new_app, sync_first_succeeded, texts


pytestmark = pytest.mark.usefixtures("fresh_caches")


def everything_shown(at) -> str:
    """Home, Jobs and History as this session sees them: text, tables and code."""
    parts = []
    for page in ("app.py", "pages/2_Jobs.py", "pages/5_History.py"):
        (at.switch_page(page) if page != "app.py" else at.switch_page("app.py")).run()
        assert not at.exception
        parts.append(texts(at))
        parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(parts)


def offline_folders(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("offline-run-*") if p.is_dir()]


def test_two_accounts_never_see_each_others_syncs(sync_env):
    with Emulator("demo", api_key="sk-alice-1") as a, Emulator("demo", api_key="sk-bob-22") as b:
        alice = new_app({"openai_api_key": "sk-alice-1", "openai_base_url": a.base_url})
        bob = new_app({"openai_api_key": "sk-bob-22", "openai_base_url": b.base_url})
        alice.run()
        bob.run()
        job_id = sync_first_succeeded(alice)
        folders = offline_folders(sync_env["wandb"])
        assert len(folders) == 1
        seen_by_alice, seen_by_bob = everything_shown(alice), everything_shown(bob)
        # the same demo job ids exist in both accounts; only Alice synced hers
        assert folders[0] in seen_by_alice and "1 synced" in seen_by_alice and "wandb sync" in seen_by_alice
        assert folders[0] not in seen_by_bob and "wandb sync" not in seen_by_bob
        assert "Nothing synced yet" in seen_by_bob and "No sync has run yet" in seen_by_bob
        assert job_id in seen_by_bob  # Bob's own job of the same id is listed, as not synced
        bob.switch_page("pages/2_Jobs.py").run()
        assert set(bob.dataframe[0].value["Sync state"]) == {"not synced"}
        assert not bob.session_state["ftsync_sync_tasks"] and not bob.expander  # no task of Alice's


def test_demo_state_is_per_session_under_ftsync_home(sync_env, tmp_path):
    first, second = new_app(), new_app()
    first.run()
    second.run()
    sync_first_succeeded(first)
    assert "1 synced" in everything_shown(first)
    shown = everything_shown(second)
    assert "Nothing synced yet" in shown and "No sync has run yet" in shown and "wandb sync" not in shown
    demo_homes = list((sync_env["home"] / "dashboard" / "demo").iterdir())
    assert len(demo_homes) == 2  # one folder per session, inside FTSYNC_HOME
    assert offline_folders(sync_env["wandb"] / "ftsync-dashboard" / "demo")  # runs inside WANDB_DIR


def test_refreshing_one_session_keeps_the_others_cached_data():
    emu = Emulator("demo", api_key="sk-shared-key").start()
    alice = new_app({"openai_api_key": "sk-shared-key", "openai_base_url": emu.base_url})
    bob = new_app({"openai_api_key": "sk-shared-key", "openai_base_url": emu.base_url})
    bob.switch_page("pages/2_Jobs.py").run()
    assert len(bob.dataframe[0].value) == 33
    emu.stop()  # from now on only cached data can be shown
    alice.switch_page("pages/1_Connect.py").run()
    alice.button[0].click().run()  # Save: refreshes Alice's account data
    bob.run()
    assert not bob.error and len(bob.dataframe[0].value) == 33
