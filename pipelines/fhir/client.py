"""httpx FHIR R4 client: auth, bounded retries with backoff, Bundle paging, streamed downloads.

Retries cover what a healthy server produces under load or during a deploy (429, 500, 502, 503,
504, timeouts, dropped connections), honour ``Retry-After``, and stop after a bounded number of
attempts with a one-line, PHI-free :class:`FhirServerError`. Anything else (4xx) is not retried.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from pipelines.errors import FhirServerError
from pipelines.fhir.auth import AuthConfig, TokenEndpointBusy, build_httpx_auth
from pipelines.fhir.download_limits import TO_DISK, ByteBudget, DownloadLimits

FHIR_JSON = "application/fhir+json"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.TransportError,
    TokenEndpointBusy,
)
USER_AGENT = "vascreen-fhir/0.1"
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# FHIR R4 IssueType codes: the words of an OperationOutcome a one-line error may repeat.
ISSUE_TYPES = frozenset(
    "invalid structure required value invariant security login unknown expired forbidden "
    "suppressed processing not-supported duplicate multiple-matches not-found deleted too-long "
    "code-invalid extension too-costly business-rule conflict transient lock-error no-store "
    "exception timeout incomplete throttled informational".split()
)
# Reasons a server gives about the request, found in its (lower-cased) text and named in ours.
KNOWN_REASONS = tuple(
    (re.compile(pattern), reason)
    for pattern, reason in (
        (r"requested too recently", "requested too recently"),
        (r"\b_since\b.*\bnot supported|\bnot supported\b.*\b_since\b", "_since not supported"),
        (r"too many requests|rate limit", "too many requests"),
        (r"try (again )?later", "try later"),
        (r"already (running|in progress)", "an export already running"),
        (r"\bexpired\b", "expired"),
        (r"not authori[sz]ed|unauthori[sz]ed|forbidden|access denied", "not authorized"),
    )
)


class FhirHttpError(FhirServerError):
    """A non-retryable HTTP status from the server (the status is kept for callers to branch on)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff.

    Attributes:
        attempts: total tries per request, including the first.
        base_delay_s: first backoff; doubles each retry (with up to 25% jitter).
        max_delay_s: cap for the computed backoff.
        retry_after_cap_s: cap for a server-sent Retry-After, which is otherwise honoured as
            sent (a busy EHR asking for 120 s gets 120 s, not four 30 s tries).
    """

    attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    retry_after_cap_s: float = 900.0

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return self.honour(retry_after)
        delay: float = self.base_delay_s * 2.0 ** (attempt - 1)
        return min(delay * (1 + random.random() * 0.25), self.max_delay_s)  # noqa: S311

    def honour(self, retry_after: float) -> float:
        """The server's ``Retry-After``, up to the site's ceiling (``retry_after_cap_s``)."""
        return min(max(retry_after, 0.0), self.retry_after_cap_s)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_reason(exc: Exception) -> tuple[str, float | None]:
    """Why a retryable error failed, and the wait its server asked for (a busy token endpoint's
    Retry-After; none for a timeout or a dropped connection)."""
    if isinstance(exc, TokenEndpointBusy):
        return str(exc), parse_retry_after(exc.retry_after)
    return type(exc).__name__, None


def outcome_text(response: httpx.Response) -> str | None:
    """What an OperationOutcome says, on one line, in words of ours only, or None.

    Servers write their reasons about the request ("requested too recently", "_since is not
    supported"), but their free text may also repeat a patient's details, so it is never
    shown: the issue codes are (FHIR's IssueType words), and each `KNOWN_REASONS` phrase the
    text contains, e.g. ``processing: requested too recently, try later``.
    """
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return None
    codes: list[str] = []
    texts: list[str] = []
    for issue in body.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        code = issue.get("code")
        if code in ISSUE_TYPES and code not in codes:
            codes.append(code)
        details = issue.get("details")
        for text in (
            details.get("text") if isinstance(details, dict) else None,
            issue.get("diagnostics"),
        ):
            if isinstance(text, str):
                texts.append(" ".join(text.lower().split()))
    said = " ".join(texts)
    reasons = [reason for pattern, reason in KNOWN_REASONS if pattern.search(said)]
    if not codes and not reasons:
        return None
    return ", ".join(codes) + (": " if codes and reasons else "") + ", ".join(reasons)


def describe_url(url: str | httpx.URL) -> str:
    """The path of a URL without its query string: safe to log (queries can carry identifiers)."""
    return urlsplit(str(url)).path or "/"


class FhirClient:
    """A FHIR R4 REST client bound to one base URL.

    Args:
        base_url: the FHIR base (``https://ehr.example/fhir``).
        auth: credentials, or None for an open server.
        retry: retry policy for every request.
        timeout_s: connect/read/write/pool timeout per request.
        limits: download budget, timeouts and minimum rate (`pipelines.fhir.download_limits`);
            given, its connect and read timeouts replace `timeout_s` for those two waits.
        transport: custom httpx transport (tests inject ``httpx.MockTransport``).
        sleep: the sleep function used between retries and polls (tests pass a recorder).
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: AuthConfig | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 60.0,
        limits: DownloadLimits | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.auth = build_httpx_auth(auth, self.base_url)
        self.budget = ByteBudget(limits or DownloadLimits())
        self._http = httpx.Client(
            auth=self.auth,
            timeout=limits.timeout(timeout_s) if limits else httpx.Timeout(timeout_s),
            event_hooks={"response": [self.budget.hook]},
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": FHIR_JSON},
            follow_redirects=False,
        )

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FhirClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def url_for(self, path_or_url: str) -> str:
        """Resolve a relative FHIR path (``Patient``, ``Binary/1``) against the base."""
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return urljoin(self.base_url + "/", path_or_url.lstrip("/"))

    def is_same_origin(self, url: str) -> bool:
        a, b = urlsplit(self.base_url), urlsplit(url)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        ok: Callable[[int], bool] = lambda status: status < 300,
        what: str | None = None,
    ) -> httpx.Response:
        """Send a request with retries; return the (read) response.

        A status ``ok`` accepts is returned as it is, a retryable one (429, 5xx) included.

        Raises:
            FhirServerError: retries exhausted, or a non-retryable status that ``ok`` rejects
                (with the server's OperationOutcome text, e.g. Epic's "requested too recently").
        """
        url = self.url_for(path_or_url)
        label = what or f"{method} {describe_url(url)}"
        attempts = self.attempts(label)
        for _ in attempts:
            try:
                response = self._http.request(
                    method, url, params=params, headers=headers, json=json, auth=self._auth_for(url)
                )
            except RETRYABLE_ERRORS as exc:
                attempts.failed(*retry_reason(exc))
                continue
            if ok(response.status_code):
                return response
            if response.status_code in RETRYABLE_STATUS:
                attempts.failed(
                    f"HTTP {response.status_code}",
                    parse_retry_after(response.headers.get("Retry-After")),
                )
                continue
            detail = outcome_text(response)
            raise FhirHttpError(
                f"{label} failed: HTTP {response.status_code}{f' ({detail})' if detail else ''}",
                response.status_code,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def get_json(self, path_or_url: str, *, params: Mapping[str, str] | None = None) -> Any:
        response = self.request("GET", path_or_url, params=params)
        try:
            return response.json()
        except ValueError:
            raise FhirServerError(
                f"GET {describe_url(response.url)} returned non-JSON content"
            ) from None

    def capability_statement(self) -> dict[str, Any]:
        body = self.get_json("metadata")
        if not isinstance(body, dict) or body.get("resourceType") != "CapabilityStatement":
            raise FhirServerError("GET /metadata did not return a CapabilityStatement")
        return body

    def iter_pages(
        self, path_or_url: str, *, params: Mapping[str, str] | None = None, max_pages: int = 100_000
    ) -> Iterator[dict[str, Any]]:
        """Yield searchset Bundles, following ``link[relation=next]`` until it is absent."""
        url: str | None = self.url_for(path_or_url)
        seen: set[str] = set()
        page_params = params
        while url is not None:
            if url in seen or len(seen) >= max_pages:
                raise FhirServerError(f"paging through {describe_url(url)} did not terminate")
            seen.add(url)
            bundle = self.get_json(url, params=page_params)
            page_params = None  # the next link already carries the query
            if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
                raise FhirServerError(f"GET {describe_url(url)} did not return a Bundle")
            yield bundle
            url = next_link(bundle)
            if url is not None:
                url = self.url_for(url)
                if not self.is_same_origin(url):
                    # Never send our credentials to another host because a Bundle said so.
                    raise FhirServerError("next link points outside the FHIR base origin")

    def stream(
        self, path_or_url: str, *, headers: Mapping[str, str] | None = None, anonymous: bool = False
    ) -> httpx.Response:
        """Open a streamed GET without retries (callers retry whole files); close it after use.

        Redirects are followed, to another host too (Oracle Health serves export files through a
        307 to pre-signed cloud storage). The token goes only to the FHIR server's own origin and
        never with ``anonymous``: pre-signed storage refuses a request that carries one.

        Raises:
            FhirServerError: more than ``MAX_REDIRECTS`` redirects.
        """
        url = self.url_for(path_or_url)
        for _ in range(MAX_REDIRECTS + 1):
            request = self._http.build_request(
                "GET", url, headers=headers, extensions={TO_DISK: True}
            )
            auth = None if anonymous else self._auth_for(url)
            response = self._http.send(request, stream=True, auth=auth)
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUS or not location:
                return response
            response.close()
            url = urljoin(url, location)
        raise FhirServerError(
            f"GET {describe_url(path_or_url)}: more than {MAX_REDIRECTS} redirects"
        )

    def _auth_for(self, url: str) -> httpx.Auth | None:
        """Credentials only for the FHIR server's own origin, never for a host a response named."""
        return self.auth if self.is_same_origin(url) else None

    def attempts(self, label: str) -> Attempts:
        """A fresh attempt loop under this client's retry policy (downloads retry whole files)."""
        return Attempts(self.retry, self.sleep, label)


class Attempts:
    """Iterates over retry attempts; ``failed()`` records why and sleeps before the next one.

    Iteration raises :class:`FhirServerError` once every attempt has failed.
    """

    def __init__(self, policy: RetryPolicy, sleep: Callable[[float], None], label: str) -> None:
        self._policy = policy
        self._sleep = sleep
        self._label = label
        self._n = 0
        self._last = ""

    def __iter__(self) -> Iterator[int]:
        while self._n < self._policy.attempts:
            self._n += 1
            yield self._n
        raise FhirServerError(
            f"{self._label} failed after {self._policy.attempts} attempts: {self._last}"
        )

    def failed(self, reason: str, retry_after: float | None) -> None:
        self._last = reason
        if self._n < self._policy.attempts:
            self._sleep(self._policy.backoff(self._n, retry_after))


def next_link(bundle: Mapping[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None
