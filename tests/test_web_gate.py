"""web.gate: one computation at a time, a bounded queue, and a 503 that says when to come back,
with real threads (each test's waits are bounded by a few tenths of a second)."""

import threading

import pytest

from web.api import RequestError
from web.gate import RETRY_AFTER_S, Gate


def hold(gate: Gate, inside: threading.Event, release: threading.Event) -> threading.Thread:
    """A thread that takes its turn at the gate and keeps it until `release` is set."""
    def work():
        with gate:
            inside.set()
            release.wait(10)
    thread = threading.Thread(target=work)
    thread.start()
    assert inside.wait(10)
    return thread


def test_turns_are_taken_one_at_a_time():
    gate, inside, counts = Gate(waiting=8, patience=5.0), [0], []
    lock = threading.Lock()

    def work():
        for _ in range(200):
            with gate:
                with lock:
                    inside[0] += 1
                    counts.append(inside[0])
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(counts) == 1 and len(counts) == 800


def test_a_full_queue_refuses_at_once_with_503_and_retry_after():
    gate, inside, release = Gate(waiting=2, patience=10.0), threading.Event(), threading.Event()
    holder = hold(gate, inside, release)

    def wait_for_a_turn():
        with gate:
            pass

    waiters = [threading.Thread(target=wait_for_a_turn) for _ in range(2)]
    for waiter in waiters:
        waiter.start()
    while gate.queued < 2:  # both are in the queue
        threading.Event().wait(0.001)
    with pytest.raises(RequestError) as refused:
        with gate:
            pass
    release.set()
    for thread in [holder, *waiters]:
        thread.join(10)
    assert refused.value.status_code == 503
    assert refused.value.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert "busy" in refused.value.body and "2 requests are already waiting" in refused.value.body
    with gate:  # and the gate works as before
        assert gate.queued == 0


def test_a_wait_longer_than_the_patience_is_refused():
    gate, inside, release = Gate(waiting=4, patience=0.2), threading.Event(), threading.Event()
    holder = hold(gate, inside, release)
    try:
        with pytest.raises(RequestError, match="waited 0.2 s") as refused:
            with gate:
                pass
        assert refused.value.status_code == 503
    finally:
        release.set()
        holder.join(10)
    assert gate.queued == 0


def test_a_gate_without_a_queue_refuses_whoever_finds_it_taken():
    gate, inside, release = Gate(waiting=0, patience=1.0), threading.Event(), threading.Event()
    holder = hold(gate, inside, release)
    with pytest.raises(RequestError):
        with gate:
            pass
    release.set()
    holder.join(10)


def test_the_lock_is_released_when_the_work_fails():
    gate = Gate(waiting=1, patience=0.5)
    with pytest.raises(RuntimeError):
        with gate:
            raise RuntimeError("the model failed")
    with gate:
        pass


def test_a_full_queue_gives_a_place_to_a_client_not_served_lately_over_one_just_served():
    gate, inside, release = Gate(waiting=1, patience=10.0), threading.Event(), threading.Event()

    def work():
        with gate.turn("flood"):  # the flood's connection has its turn...
            inside.set()
            release.wait(10)
    holder = threading.Thread(target=work)
    holder.start()
    assert inside.wait(10)
    outcomes = {}

    def ask(client):
        try:
            with gate.turn(client):
                outcomes[client] = "served"
        except RequestError as refused:
            outcomes[client] = refused

    flood = threading.Thread(target=ask, args=("flood",))  # ... and queues its next request
    flood.start()
    while gate.queued < 1:
        threading.Event().wait(0.001)
    newcomer = threading.Thread(target=ask, args=("newcomer",))
    newcomer.start()
    flood.join(10)  # displaced at once, long before its patience runs out
    assert isinstance(outcomes["flood"], RequestError)
    assert outcomes["flood"].status_code == 503 and "its place went" in outcomes["flood"].body
    release.set()
    for thread in (holder, newcomer):
        thread.join(10)
    assert outcomes["newcomer"] == "served"
    with pytest.raises(RequestError, match="already waiting"):  # a full queue of newcomers:
        release.clear()                                        # first come, first served
        inside.clear()
        holder = threading.Thread(target=work)
        holder.start()
        assert inside.wait(10)
        waiting = threading.Thread(target=ask, args=("first",))
        waiting.start()
        while gate.queued < 1:
            threading.Event().wait(0.001)
        try:
            with gate.turn("second"):
                pass
        finally:
            release.set()
            holder.join(10)
            waiting.join(10)
