"""The one guard for every HTTP request Fanout makes to an address a seller or a platform gave us
(the platform clients in connectors/clients, the 3PL API in warehouses/threepl, the sandbox demo).

A request may go only to a public address over https. Refused, before anything is sent:
- any scheme but https (http is allowed only for the local platform sandbox, see below),
- user names or passwords in the URL,
- loopback, private (RFC 1918, CGNAT), link-local, unique-local, site-local, multicast, reserved
  and unspecified addresses, IPv4 hidden in IPv6 (::ffff:127.0.0.1, 6to4, Teredo, NAT64), and
  the cloud metadata services (169.254.169.254, fd00:ec2::254, 100.100.100.200, ...).

Names are checked where it matters, at connect time: `GuardedTransport` resolves the host name,
checks every address it resolves to and connects to one of exactly those addresses, so a name
that answers a public address to a first lookup and 127.0.0.1 to the next (DNS rebinding) gains
nothing. Every request a client sends through it, redirects included, is checked again.

The local platform sandbox (FANOUT_PLATFORM_SANDBOX_URL, e.g. http://127.0.0.1:8025) is a
loopback address; it is allowed only when FANOUT_OUTBOUND_ALLOW_SANDBOX is on (development and
tests; production settings force it off), and then only its exact origin (scheme, host, port).

Replies are never shown raw: `reply_text` makes the platform's own error message field (never
the body) short, single-line plain text for pages and exception queues."""
import functools
import ipaddress
import socket

import httpcore
import httpx
from django.conf import settings
from django.utils.translation import gettext as _

# Cloud instance-metadata services, named so the refusal says what was asked for. Most are in
# ranges refused anyway (link-local, unique-local, CGNAT); the list keeps them refused if not.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "169.254.169.123", "fd00:ec2::254", "fd00:ec2::23", "100.100.100.200", "192.0.0.192",
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class OutboundRefused(Exception):
    """Fanout will not send this request. The message says why, in words a seller can act on."""


# ---------------------------------------------------------------------------- addresses
def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why Fanout may not connect to `ip`, or None when it is a public address."""
    if ip.version == 6:
        for embedded in (ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None,
                         ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None):
            if embedded is not None:
                problem = address_problem(embedded)
                if problem:
                    return problem
    if ip in METADATA_ADDRESSES:
        return _("a cloud metadata service")
    if ip.is_loopback:
        return _("a loopback address")
    if ip.is_link_local:
        return _("a link-local address")
    if ip.is_multicast:
        return _("a multicast address")
    if ip.is_unspecified:
        return _("an unspecified address")
    if ip.version == 6 and (ip.is_site_local or ip in ipaddress.ip_network("fc00::/7")):
        return _("a unique-local address")
    if ip.is_private or ip.is_reserved or not ip.is_global:
        return _("a private or reserved address")
    return None


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])  # fe80::1%eth0: the zone does not change what it is
    except ValueError:
        return None


# ---------------------------------------------------------------------------- the sandbox
def sandbox_url() -> str:
    """The local platform sandbox's URL when this deployment may talk to it, else ""."""
    if not getattr(settings, "FANOUT_OUTBOUND_ALLOW_SANDBOX", False):
        return ""
    return (settings.FANOUT_PLATFORM_SANDBOX_URL or "").rstrip("/")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(url.scheme)


def _sandbox_origin() -> tuple[str, str, int | None] | None:
    url = sandbox_url()
    if not url:
        return None
    try:
        return _origin(httpx.URL(url))
    except httpx.InvalidURL:
        return None


def _is_sandbox_endpoint(host: str, port: int) -> bool:
    origin = _sandbox_origin()
    return origin is not None and (origin[1], origin[2]) == (host.lower().strip("[]"), port)


# ---------------------------------------------------------------------------- URLs
def outbound_url_check(url, *, resolve: bool = False) -> httpx.URL:
    """Refuse (OutboundRefused) a URL Fanout must not send requests to; return it parsed.
    Without `resolve` only what the URL itself says is checked (the transport checks the
    resolved addresses when it connects); with it, the host name is looked up too, so a form can
    say at once that a name points inside our network (a name that does not resolve yet passes)."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(str(url).strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        raise OutboundRefused(_("This is not a valid web address.")) from None
    if not parsed.host:
        raise OutboundRefused(_("This address has no host name."))
    if parsed.userinfo:
        raise OutboundRefused(_("Put no user name or password in the address; enter keys in their own field."))
    host = parsed.host.lower()
    if _origin(parsed) == _sandbox_origin():
        return parsed
    if parsed.scheme != "https":
        raise OutboundRefused(_("Only https:// addresses are allowed (got %(scheme)s://).") % {"scheme": parsed.scheme or "?"})
    ip = _ip(host)
    if ip is not None:
        problem = address_problem(ip)
        if problem:
            raise OutboundRefused(_("%(host)s is %(what)s; Fanout does not send requests there.") % {"host": host, "what": problem})
    elif (name := host.rstrip(".")) == "localhost" or name.endswith((".localhost", ".local", ".internal")) or "." not in name:
        raise OutboundRefused(_("%(host)s is not a public host name; Fanout does not send requests there.") % {"host": host})
    if resolve:
        try:
            _resolve_checked(host, parsed.port or 443)
        except OSError:
            pass
    return parsed


def endpoint_host(url) -> str:
    """"host:port" of a URL: what a stored secret is bound to (a key entered for one host is never
    sent to another). "" for an address that does not parse."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(str(url or "").strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        return ""
    if not parsed.host:
        return ""
    host = parsed.host.lower()
    return f"[{host}]:{_origin(parsed)[2]}" if ":" in host else f"{host}:{_origin(parsed)[2]}"


def outbound_url_problem(url) -> str | None:
    """For forms: why the URL is refused, or None."""
    try:
        outbound_url_check(url, resolve=True)
    except OutboundRefused as exc:
        return str(exc)
    return None


def _resolve_checked(host: str, port: int) -> list[tuple]:
    """Every address `host` resolves to, each checked; raises OutboundRefused if any is not
    public (a name that answers both a public and a private address is refused)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = _ip(sockaddr[0])
        problem = address_problem(ip) if ip is not None else _("an unknown kind of address")
        if problem:
            raise OutboundRefused(_("%(host)s resolves to %(ip)s, %(what)s; Fanout does not send requests there.")
                                  % {"host": host, "ip": sockaddr[0], "what": problem})
    return infos


# ---------------------------------------------------------------------------- the transport
class _GuardedBackend(httpcore.NetworkBackend):
    """Connects only to checked addresses: resolve, check every address, connect to one of them."""

    def __init__(self):
        self._plain = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if _is_sandbox_endpoint(host, port):
            return self._plain.connect_tcp(host, port, timeout=timeout, local_address=local_address, socket_options=socket_options)
        try:
            infos = _resolve_checked(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        last_error: Exception | None = None
        for _family, _type, _proto, _name, sockaddr in infos:
            try:  # the checked address itself, never the name again
                return self._plain.connect_tcp(sockaddr[0], port, timeout=timeout, local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error or httpcore.ConnectError(f"{host}: no address")

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise OutboundRefused(_("Fanout does not send requests to local sockets."))

    def sleep(self, seconds: float) -> None:
        self._plain.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with every request's URL checked and every connection made through
    `_GuardedBackend`. No proxies from the environment: a proxy would connect for us, unchecked."""

    def __init__(self, **kwargs):
        super().__init__(trust_env=False, **kwargs)
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(trust_env=False), network_backend=_GuardedBackend(),
                                             max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        outbound_url_check(request.url)
        return super().handle_request(request)


def outbound_client(*, timeout: float | None = None, base_url: str = "") -> httpx.Client:
    """A new guarded client (close it when done). Redirects are not followed."""
    timeout = settings.FANOUT_CHANNEL_TIMEOUT_S if timeout is None else timeout
    return httpx.Client(transport=GuardedTransport(), timeout=httpx.Timeout(timeout, connect=5.0), trust_env=False, follow_redirects=False,
                        base_url=base_url)


@functools.cache
def outbound_http() -> httpx.Client:
    """The process's shared guarded client: creating a client (its TLS context) costs ~25 ms, more
    than a sandbox call; httpx clients are safe to share between threads."""
    return outbound_client()


# ---------------------------------------------------------------------------- replies
def reply_text(value, *, limit: int = 200) -> str:
    """A platform's error message field made fit to show: text only (anything else is dropped),
    one line, printable characters, at most `limit` characters. Pages escape it as usual."""
    if not isinstance(value, str):
        return ""
    text = "".join(ch for ch in " ".join(value.split()) if ch.isprintable())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reply_summary(status: int, message=None) -> str:
    """What to show of a refusal: the HTTP status and the platform's message field, if any."""
    text = reply_text(message)
    return f"HTTP {status}: {text}" if text else f"HTTP {status}"
