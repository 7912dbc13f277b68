"""HTTP for gallery adapters: keep-alive, retries with backoff and jitter, our error types.

Retrying is safe because every write the adapters make is idempotent on the server side
(uploads dedupe by checksum, album adds by id), so a request whose answer was lost may be
sent again. Transport failures (resets, timeouts) and 429/5xx are retried with capped
exponential backoff and full jitter (honouring Retry-After); anything else is returned to
the adapter, which knows what its server's status codes mean. A server that still refuses
connections when the retries are spent is gone (`TargetUnavailable`: the run stops), not
busy (`TransientError`: the item fails).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.base import TargetUnavailable, TransientError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    statuses: frozenset[int] = RETRY_STATUSES

    def delay(self, attempt: int, retry_after: str | None, rng: random.Random) -> float:
        """Full jitter (AWS architecture blog): spreads retries of many workers apart."""
        if retry_after is not None:
            try:
                return min(self.max_delay, max(0.0, float(retry_after)))
            except ValueError:
                pass
        ceiling = min(self.max_delay, self.base_delay * (2 ** attempt))
        return rng.uniform(0, ceiling)


def timeouts(read: float = 60.0, write: float = 600.0) -> httpx.Timeout:
    """Long write timeout: a multi-GB video on a slow link takes minutes to send."""
    return httpx.Timeout(connect=10.0, read=read, write=write, pool=60.0)


BodyFactory = Callable[[], Mapping[str, Any]]


@dataclass(frozen=True)
class _Miss:
    """An attempt that did not get a final answer: why, and whether to wait as told."""

    reason: str
    refused: bool = False
    retry_after: str | None = None


@dataclass
class HttpClient:
    """One keep-alive connection pool shared by all workers of an adapter."""

    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: httpx.Timeout = field(default_factory=timeouts)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    pool_size: int = 8
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        try:
            httpx.URL(self.base_url)
        except (httpx.InvalidURL, ValueError) as exc:
            raise TargetUnavailable(f"{self.base_url}: not a valid address ({exc})") from None
        limits = httpx.Limits(max_connections=self.pool_size,
                              max_keepalive_connections=self.pool_size)
        self._client = httpx.Client(base_url=self.base_url, headers=self.headers,
                                    timeout=self.timeout, limits=limits,
                                    transport=self.transport)
        self._lock = threading.Lock()
        self._rng = random.Random()
        self.requests = 0
        self.retries = 0

    def request(self, method: str, url: str, *, body: BodyFactory | None = None,
                params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None,
                timeout: httpx.Timeout | None = None,
                attempts: int | None = None) -> httpx.Response:
        """Send, retrying transient failures; `body` builds fresh request kwargs
        (json=, files=, data=, content=, and headers= merged over `headers`) for every
        attempt, since streams are consumed (and a retry may say more).
        `timeout` overrides the client's for calls the server answers slowly by design;
        `attempts=1` for a request that is not safe to repeat blindly (the caller checks
        what happened before trying again)."""
        limit = attempts or self.policy.attempts
        miss = _Miss("no attempt made")
        for attempt in range(limit):
            self._count(attempt)
            outcome = self._attempt(method, url, body, params, headers, timeout)
            if isinstance(outcome, httpx.Response):
                return outcome
            miss = outcome
            if attempt + 1 < limit:
                with self._lock:
                    pause = self.policy.delay(attempt, miss.retry_after, self._rng)
                self.sleep(pause)
        if miss.refused and limit > 1:  # still refusing after all the retries: gone
            raise TargetUnavailable(f"{miss.reason}; gave up after {limit} attempts")
        raise TransientError(f"{miss.reason}; gave up after {limit} attempts")

    def _attempt(self, method: str, url: str, body: BodyFactory | None,
                 params: Mapping[str, Any] | None, headers: Mapping[str, str] | None,
                 timeout: httpx.Timeout | None) -> httpx.Response | _Miss:
        """One try: the answer, or why it should be tried again."""
        try:
            kwargs = dict(body()) if body else {}
            sent = {**(headers or {}), **kwargs.pop("headers", {})}
            response = self._client.request(
                method, url, params=params, headers=sent or None,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                **kwargs)
        except httpx.ConnectError as exc:
            return _Miss(f"cannot connect to {self.base_url} ({exc})", refused=True)
        except httpx.TransportError as exc:
            return _Miss(f"{type(exc).__name__} talking to {self.base_url}")
        if response.status_code not in self.policy.statuses:
            return response
        return _Miss(f"HTTP {response.status_code} from {method} {url}",
                     retry_after=response.headers.get("Retry-After"))

    def probe(self, url: str) -> httpx.Response:
        """One attempt, for start-up checks: a dead server should fail fast and clearly."""
        self._count(0)
        try:
            return self._client.get(url)
        except httpx.TransportError as exc:
            raise TargetUnavailable(f"{self.base_url}: unreachable ({exc})") from None

    def _count(self, attempt: int) -> None:
        with self._lock:
            self.requests += 1
            if attempt:
                self.retries += 1

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"http_requests": self.requests, "http_retries": self.retries}

    def close(self) -> None:
        self._client.close()
