"""One visitor's stalled syncs cannot starve another's: the fair scheduler, with real threads."""

from __future__ import annotations

import threading
import time

from ftsync.background import FairScheduler


def acquire_in_thread(scheduler: FairScheduler, account: str) -> threading.Event:
    got = threading.Event()

    def run() -> None:
        scheduler.acquire(account)
        got.set()

    threading.Thread(target=run, daemon=True).start()
    return got


def test_a_stalled_account_holds_one_slot_and_others_still_run():
    scheduler = FairScheduler(slots=2, per_account=1)
    scheduler.acquire("alice")  # Alice's first sync stalls, holding its slot
    alice_second = acquire_in_thread(scheduler, "alice")
    alice_third = acquire_in_thread(scheduler, "alice")
    time.sleep(0.1)
    bob = acquire_in_thread(scheduler, "bob")  # arrives after Alice's queued syncs
    assert bob.wait(2), "Bob waited behind Alice's stalled syncs"
    assert not alice_second.is_set() and not alice_third.is_set()
    carol = acquire_in_thread(scheduler, "carol")
    assert not carol.wait(0.2)  # both slots taken (Alice, Bob): Carol queues...
    scheduler.release("bob")
    assert carol.wait(2)  # ...and gets Bob's slot before Alice's second sync, which is over its share
    assert not alice_second.is_set()
    scheduler.release("alice")
    assert alice_second.wait(2) and not alice_third.is_set()


def test_waiters_of_one_account_run_in_arrival_order():
    scheduler = FairScheduler(slots=1, per_account=1)
    order: list[str] = []
    scheduler.acquire("a")
    threads = []
    for name in ("a1", "b1", "a2"):
        def run(name: str = name) -> None:
            scheduler.acquire(name[0])
            order.append(name)
            scheduler.release(name[0])
        t = threading.Thread(target=run, daemon=True)
        t.start()
        threads.append(t)
        time.sleep(0.05)
    scheduler.release("a")
    for t in threads:
        t.join(2)
    assert order == ["a1", "b1", "a2"]
