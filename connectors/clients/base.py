"""What every platform client shares: one httpx client with timeouts, retries with exponential
backoff for transient failures only (connection errors, timeouts, 5xx, 429 — honouring
Retry-After), token refresh ahead of expiry and once more on an auth failure, and one family of
errors that say which platform failed and why."""
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.utils import timezone

from erp.outbound import OutboundRefused, outbound_http, reply_summary

log = logging.getLogger("fanout.connectors")


class ChannelError(Exception):
    """A platform call failed. `retryable` says whether trying later may succeed."""

    retryable = False

    def __init__(self, message: str, *, platform: str = "", status: int | None = None, code=None):
        super().__init__(message)
        self.platform = platform
        self.status = status
        self.code = code


class ChannelAuthError(ChannelError):
    """Credentials are refused and a token refresh did not help: the shop needs re-authorising."""


class ChannelTokenError(ChannelAuthError):
    """The access token was refused (invalid or expired); a refresh may fix it."""


class ChannelRequestError(ChannelError):
    """The platform refused the request itself (bad input, unknown item); retrying will not help."""


class ChannelTransientError(ChannelError):
    """Network trouble, timeouts, 5xx or rate limits that outlasted our retries."""

    retryable = True


class ChannelRateLimited(ChannelTransientError):
    pass


class ChannelResponseError(ChannelTransientError):
    """The platform answered with something that is not the JSON its contract promises."""


@dataclass
class Tokens:
    access_token: str
    access_token_expires_at: datetime | None
    refresh_token: str = ""
    refresh_token_expires_at: datetime | None = None


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


class ApiClient:
    platform = ""
    # Refresh this long before the platform says the token expires.
    refresh_margin = timedelta(minutes=5)

    def __init__(self, account, *, on_tokens=None):
        self.account = account
        self.on_tokens = on_tokens
        self.max_attempts = settings.FANOUT_CHANNEL_MAX_ATTEMPTS
        self.backoff_base = settings.FANOUT_CHANNEL_BACKOFF_S
        # Every request goes through the outbound guard (erp/outbound.py), one pool per process.
        self.http = outbound_http()

    def close(self) -> None:
        pass  # the shared pool stays open

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- HTTP with retries
    def send(self, method: str, url: str, **kwargs) -> httpx.Response:
        """One request, retried on transient failures only. Returns any non-429, non-5xx answer."""
        last_error: ChannelError | None = None
        for attempt in range(1, self.max_attempts + 1):
            delay = self.backoff_base * (2 ** (attempt - 1)) * (1 + random.random() / 2)
            try:
                response = self.http.request(method, url, **kwargs)
            except OutboundRefused as exc:
                raise ChannelRequestError(f"{self.platform}: {exc}", platform=self.platform) from None
            except httpx.TimeoutException as exc:
                last_error = ChannelTransientError(f"{self.platform}: timed out calling {url}", platform=self.platform)
                log.warning("%s attempt %s: %s", self.platform, attempt, exc)
            except httpx.TransportError as exc:
                last_error = ChannelTransientError(f"{self.platform}: cannot reach {url} ({type(exc).__name__})", platform=self.platform)
                log.warning("%s attempt %s: %s", self.platform, attempt, exc)
            else:
                if response.status_code == 429:
                    last_error = ChannelRateLimited(f"{self.platform}: rate limited (HTTP 429)", platform=self.platform, status=429)
                    delay = _retry_after_seconds(response) or delay
                elif 300 <= response.status_code < 400:
                    raise ChannelRequestError(
                        f"{self.platform}: {reply_summary(response.status_code)}, a redirect; Fanout does not follow redirects",
                        platform=self.platform, status=response.status_code)
                elif response.status_code >= 500:
                    last_error = ChannelTransientError(
                        f"{self.platform}: HTTP {response.status_code} from {url}", platform=self.platform, status=response.status_code
                    )
                else:
                    return response
                log.warning("%s attempt %s: %s", self.platform, attempt, last_error)
            if attempt < self.max_attempts:
                time.sleep(min(delay, settings.FANOUT_CHANNEL_MAX_BACKOFF_S))
        assert last_error is not None
        raise last_error

    def json_of(self, response: httpx.Response) -> dict:
        try:
            data = response.json()
        except ValueError as exc:
            raise ChannelResponseError(
                f"{self.platform}: HTTP {response.status_code} with a body that is not JSON",
                platform=self.platform, status=response.status_code,
            ) from exc
        if not isinstance(data, dict):
            raise ChannelResponseError(f"{self.platform}: expected a JSON object, got {type(data).__name__}", platform=self.platform)
        return data

    # ---------------------------------------------------------------- tokens
    def token_fresh(self) -> bool:
        expires = self.account.access_token_expires_at
        return bool(self.account.access_token) and (expires is None or expires - self.refresh_margin > timezone.now())

    def token_ensure(self) -> None:
        if not self.token_fresh():
            self.token_refresh()

    def token_refresh(self) -> Tokens:
        tokens = self.refresh_tokens()
        self.account.access_token = tokens.access_token
        self.account.access_token_expires_at = tokens.access_token_expires_at
        if tokens.refresh_token:
            self.account.refresh_token = tokens.refresh_token
            self.account.refresh_token_expires_at = tokens.refresh_token_expires_at
        if self.on_tokens:
            self.on_tokens(self.account, tokens)
        return tokens

    def refresh_tokens(self) -> Tokens:  # pragma: no cover - every platform implements it
        raise NotImplementedError

    def authed(self, call):
        """Run `call()` with a fresh token; when the token is refused refresh once and try again."""
        self.token_ensure()
        try:
            return call()
        except ChannelTokenError:
            self.token_refresh()
            return call()

    # ---------------------------------------------------------------- stock
    def stock_push(self, items: list["StockItem"]) -> dict[str, str]:  # pragma: no cover
        """Set the sellable quantity of each item. Returns {external_sku_id: error} for items the
        platform refused; raises ChannelError when the whole call failed."""
        raise NotImplementedError

    def stock_read(self, items: list["StockItem"]) -> dict[str, int]:  # pragma: no cover
        """The platform's current quantity per external_sku_id."""
        raise NotImplementedError

    def ping(self) -> str:  # pragma: no cover
        """A cheap authenticated call; returns a human description of the shop."""
        raise NotImplementedError


@dataclass(frozen=True)
class StockItem:
    external_product_id: str
    external_sku_id: str
    quantity: int = 0
    # What we believe the platform shows now (for compare-and-set); None when unknown.
    expected: int | None = None
