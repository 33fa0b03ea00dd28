"""What the review app's server log says when a request fails: ids only.

Starlette answers an unhandled exception with the 500 page (`review.security.server_error`)
and raises it again for the server, whose log would print the traceback and the exception's
text. `LoggedErrors`, outermost, takes it instead and logs one line: the method, the path
(patient and item ids, never the query string, which can hold a searched name) and the error:
a `StoreError`'s own one-line text (operation and table, no values) or the exception's class.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from pipelines.errors import ScreeningError

log = logging.getLogger("vascreen.review")


class LoggedErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            what = str(exc) if isinstance(exc, ScreeningError) else type(exc).__name__
            log.error(
                "review app: %s %s failed: %s", scope.get("method", "-"), scope.get("path"), what
            )
