"""Light runs first: heavy runs give way at their checkpoints, never forever, and never to an idle run."""
from __future__ import annotations

import threading

from infra import fair_share
from infra.fair_share import LightFirst

BIG = 10_000
HELD = 0.2  # how long a thread that should be held is given to (wrongly) get through


def in_thread(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def light_run(fair: LightFirst, inside: threading.Event, release: threading.Event, idle: bool = False):
    def run() -> None:
        with fair.running():
            if idle:
                with fair_share.waiting():
                    inside.set()
                    release.wait(5)
            else:
                inside.set()
                release.wait(5)
    return in_thread(run)


def test_a_large_upload_waits_at_its_checkpoint_until_the_light_run_beside_it_ends():
    fair = LightFirst(large_bytes=1_000, light_cpu_s=60)
    inside, release, passed = threading.Event(), threading.Event(), threading.Event()
    light = light_run(fair, inside, release)
    inside.wait(5)

    def heavy() -> None:
        with fair.running() as ticket:
            fair_share.weigh(BIG)
            assert ticket.heavy
            fair_share.checkpoint()
            passed.set()

    big = in_thread(heavy)
    big.join(HELD)
    assert big.is_alive() and not passed.is_set() and fair.waits == 1

    release.set()
    light.join(5)
    big.join(5)
    assert passed.is_set() and fair.turns == 0


def test_a_small_upload_stays_light_and_does_not_wait():
    fair = LightFirst(large_bytes=1_000, light_cpu_s=60)
    inside, release = threading.Event(), threading.Event()
    light = light_run(fair, inside, release)
    inside.wait(5)

    with fair.running() as ticket:
        fair_share.weigh(999)
        fair_share.checkpoint()
        assert not ticket.heavy and fair.light_working == 2

    release.set()
    light.join(5)
    assert fair.waits == 0 and fair.light_working == 0


def test_a_run_that_used_its_cpu_share_turns_heavy_and_stops_counting_as_light():
    fair = LightFirst(large_bytes=BIG, light_cpu_s=0.0)
    with fair.running() as ticket:
        assert fair.light_working == 1
        fair_share.checkpoint()
        assert ticket.heavy and fair.light_working == 0


def test_a_light_run_waiting_on_an_upstream_holds_nobody_back():
    fair = LightFirst(large_bytes=1_000, light_cpu_s=60)
    inside, release = threading.Event(), threading.Event()
    light = light_run(fair, inside, release, idle=True)
    inside.wait(5)

    with fair.running():
        fair_share.weigh(BIG)
        fair_share.checkpoint()

    assert fair.waits == 0
    release.set()
    light.join(5)
    assert fair.light_working == 0


def test_a_heavy_run_that_waited_its_longest_takes_a_turn_while_light_runs_hold_still():
    fair = LightFirst(large_bytes=1_000, light_cpu_s=60, max_wait_s=3 * HELD)
    inside, release = threading.Event(), threading.Event()
    light = light_run(fair, inside, release)
    inside.wait(5)
    in_turn, turn_over, light_passed = threading.Event(), threading.Event(), threading.Event()

    def heavy() -> None:
        with fair.running():
            fair_share.weigh(BIG)
            fair_share.checkpoint()  # waits max_wait_s for the light run, then takes a turn
            in_turn.set()
            turn_over.wait(5)

    big = in_thread(heavy)
    in_turn.wait(5)
    assert fair.turns == 1

    def second_light() -> None:
        with fair.running():
            fair_share.checkpoint()  # holds still while the heavy run has its turn
            light_passed.set()

    other = in_thread(second_light)
    other.join(HELD)
    assert not light_passed.is_set()
    turn_over.set()
    big.join(5)
    other.join(5)
    assert light_passed.is_set()
    release.set()
    light.join(5)


def test_the_ticket_carries_cpu_and_weight_from_one_thread_to_the_next():
    fair = LightFirst(large_bytes=1_000, light_cpu_s=60)
    with fair.running() as ticket:
        fair_share.weigh(BIG)
        sum(range(200_000))
    used = ticket.cpu_s
    assert ticket.heavy and used > 0

    def next_phase() -> None:
        with fair.running(ticket):
            sum(range(200_000))

    in_thread(next_phase).join(5)
    assert ticket.cpu_s > used and fair.light_working == 0


def test_without_a_scheduler_checkpoints_do_nothing():
    assert list(fair_share.pace(range(2_000))) == list(range(2_000))
    fair_share.checkpoint()
    fair_share.weigh(BIG)
    with fair_share.waiting():
        pass


def test_checkpoints_inside_a_loop_come_every_so_many_items():
    calls = []

    class Counting:
        def checkpoint(self) -> None:
            calls.append(1)

        def weigh(self, size_bytes: int) -> None:
            pass

        def idle(self):
            raise AssertionError("not used")

    previous = fair_share.install(Counting())
    try:
        assert list(fair_share.pace(range(1_025), n=512)) == list(range(1_025))
    finally:
        fair_share.install(previous)
    assert len(calls) == 3


def test_work_in_slices_passes_a_checkpoint_before_each_slice_and_keeps_the_order():
    class Counting:
        passed = 0

        def checkpoint(self) -> None:
            Counting.passed += 1

    previous = fair_share.install(Counting())
    try:
        doubled = fair_share.in_slices(lambda part: [2 * x for x in part], list(range(1_025)), n=512)
    finally:
        fair_share.install(previous)
    assert doubled == [2 * x for x in range(1_025)]
    assert Counting.passed == 3
