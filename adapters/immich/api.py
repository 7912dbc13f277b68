"""Immich calls over the shared retrying client, with answers turned into our errors."""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from typing import Any

import httpx

from adapters.http import BodyFactory, HttpClient
from adapters.immich.wire import error_for, json_of


class Api:
    def __init__(self, http: HttpClient) -> None:
        self.http = http
        self._rng = random.Random()

    def call(self, method: str, path: str, doing: str, *, json: Any = None,
             params: Mapping[str, str] | None = None, body: BodyFactory | None = None,
             headers: Mapping[str, str] | None = None,
             ok: Collection[int] = (200,), attempts: int | None = None) -> httpx.Response:
        """Send (retrying what is transient) and return the answer if its status is in
        `ok`; anything else becomes AuthError, ItemRejected or GalleryError."""
        if json is not None:
            payload = json
            body = lambda: {"json": payload}  # noqa: E731
        answer = self.http.request(method, path, body=body, params=params, headers=headers,
                                   attempts=attempts)
        if answer.status_code not in ok:
            raise error_for(answer, doing)
        return answer

    def json(self, method: str, path: str, doing: str, *, json: Any = None,
             params: Mapping[str, str] | None = None, ok: Collection[int] = (200,),
             attempts: int | None = None) -> Any:
        answer = self.call(method, path, doing, json=json, params=params, ok=ok,
                           attempts=attempts)
        return json_of(answer, doing)

    def pause(self, attempt: int) -> None:
        """The client's backoff, for callers that retry by hand."""
        self.http.sleep(self.http.policy.delay(attempt, None, self._rng))
