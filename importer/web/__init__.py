"""The local web page: follow imports live, see every problem, approve what reclaim trashes.

`start_in_thread(settings)` serves it beside another command (`watch --web`); `serve` is the
command of its own. Both are imported lazily: the rest of the tool does not need Starlette.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importer.web.server import WebHandle


def start_in_thread(settings: Any, **options: Any) -> WebHandle:
    from importer.web.server import start_in_thread as start

    return start(settings, **options)
