"""Login rate limiting: sliding windows per user and per address, bounded memory."""

from __future__ import annotations

import pytest

from gateway.ratelimit import MAX_NAME, LoginLimiter, SlidingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_blocks_after_limit_until_oldest_failure_leaves_the_window() -> None:
    clock = Clock()
    w = SlidingWindow(limit=3, window=60, clock=clock)
    for step in range(3):
        assert w.retry_after("k") == 0
        w.hit("k")
        clock.now += 10 * (step < 2)
    assert w.retry_after("k") == pytest.approx(40)  # first failure at 1000, now 1020
    clock.now = 1060.0
    assert w.retry_after("k") == 0  # the first one expired


def test_keys_are_independent() -> None:
    w = SlidingWindow(limit=1, window=60, clock=Clock())
    w.hit("a")
    assert w.retry_after("a") > 0
    assert w.retry_after("b") == 0


def test_memory_is_bounded_by_max_keys() -> None:
    clock = Clock()
    w = SlidingWindow(limit=5, window=60, max_keys=100, clock=clock)
    for i in range(10_000):
        w.hit(f"key{i}")
    assert len(w) <= 100
    assert w.retry_after("key9999") == 0  # still tracked, one failure of five


def test_forgive_withdraws_one_attempt_or_all() -> None:
    w = SlidingWindow(limit=2, window=60, clock=Clock())
    stamp = w.hit("a")
    w.hit("a")
    assert w.retry_after("a") > 0
    w.forgive("a", stamp)
    assert w.retry_after("a") == 0
    w.hit("a")
    w.forgive("a")
    assert len(w) == 0


def test_login_limiter_per_user_and_per_address() -> None:
    clock = Clock()
    limiter = LoginLimiter(per_user=2, per_address=3, window=60, clock=clock)
    for _ in range(2):
        attempt, wait = limiter.begin("ann", "10.0.0.1")
        assert attempt is not None
        assert wait == 0
    attempt, wait = limiter.begin("ann", "10.0.0.2")  # another address, same user
    assert attempt is None
    assert wait == pytest.approx(60)
    attempt, _ = limiter.begin("bob", "10.0.0.1")  # third failure of this address
    assert attempt is not None
    attempt, wait = limiter.begin("carl", "10.0.0.1")
    assert attempt is None
    assert wait > 0
    assert limiter.begin("carl", "10.0.0.9")[0] is not None


def test_success_is_not_counted_and_clears_the_user() -> None:
    limiter = LoginLimiter(per_user=2, per_address=2, window=60, clock=Clock())
    attempt, _ = limiter.begin("ann", "a")
    assert attempt is not None
    attempt2, _ = limiter.begin("ann", "a")
    assert attempt2 is not None
    limiter.succeeded(attempt2)
    assert limiter.users.retry_after("ann") == 0  # user's failures cleared
    assert limiter.addresses.retry_after("a") == 0  # one failure left of two


def test_long_user_names_share_one_key() -> None:
    limiter = LoginLimiter(per_user=1, per_address=100, window=60, clock=Clock())
    base = "x" * MAX_NAME
    assert limiter.begin(base + "1", "a")[0] is not None
    assert limiter.begin(base + "2", "a")[0] is None


@pytest.mark.parametrize(("limit", "window", "keys"), [(0, 60, 10), (1, 0, 10), (1, 60, 0)])
def test_nonsense_parameters_are_refused(limit: int, window: float, keys: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        SlidingWindow(limit, window, keys)
