"""One retry policy for every remote call: tenacity, bounded, logged, honouring Retry-After.

The SDKs are built with `max_retries=0` so this is the only policy. Retried: 429, 5xx (and 529
overloaded), timeouts and dropped connections. Never retried: auth, permission, bad request,
not found: repeating those only burns time.
"""

from __future__ import annotations

import email.utils
import logging
import time
from typing import Callable, TypeVar

import tenacity

log = logging.getLogger("aia.retry")
T = TypeVar("T")


def status_of(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)


def is_transient(exc: BaseException) -> bool:
    """True for failures that a later identical request may not hit (SDK-agnostic)."""
    name = type(exc).__name__
    if name in ("APITimeoutError", "APIConnectionError", "TimeoutException", "ConnectError", "ReadError",
                "RemoteProtocolError"):
        return True
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    status = status_of(exc)
    return status is not None and (status == 429 or status == 408 or status >= 500)


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, `retry-after` seconds or HTTP date)."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    if headers.get("retry-after-ms"):
        try:
            return float(headers["retry-after-ms"]) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, when.timestamp() - time.time()) if when else None


def call_with_retries(
    fn: Callable[[], T],
    *,
    max_attempts: int = 6,
    max_wait: float = 60.0,
    base_wait: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Call `fn`, retrying transient failures up to `max_attempts` calls in all.

    Waits the server's Retry-After when given (capped at `max_wait`), else exponential backoff
    with jitter from `base_wait`. `on_retry(attempt, exc, wait)` lets the caller log to the
    transcript; the last failure is re-raised unchanged.
    """
    backoff = tenacity.wait_random_exponential(multiplier=base_wait, max=max_wait)

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after(exc) if exc else None
        return min(asked, max_wait) if asked is not None else backoff(state)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception()
        seconds = state.next_action.sleep if state.next_action else 0.0
        log.warning("attempt %d failed (%s: %s); retrying in %.1fs", state.attempt_number, type(exc).__name__, exc,
                    seconds)
        if on_retry:
            on_retry(state.attempt_number, exc, seconds)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_transient),
        wait=wait,
        stop=tenacity.stop_after_attempt(max_attempts),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
    return retrying(fn)
