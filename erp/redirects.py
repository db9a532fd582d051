"""Where a form may send the browser back to: the one check for every `next` (and `back`) a
request carries. Only a URL on this very site passes (Django's url_has_allowed_host_and_scheme
with the request's own host, https required on a secure request), and only under `within` when
the view names a part of the site; anything else (`//evil.example`, `/\\evil.example`,
`https://evil.example`, `javascript:…`, control characters) gives the fallback."""
from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, *, fallback: str, field: str = "next", within: str = "/") -> str:
    """The `field` of the POST (else the query string) if it is a safe target on this site, else
    `fallback` (a URL or a view name)."""
    target = request.POST.get(field) or request.GET.get(field) or ""
    if is_safe_target(request, target, within=within):
        return target
    return resolve_url(fallback) if fallback else ""


def is_safe_target(request, target: str, *, within: str = "/") -> bool:
    if not target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return False
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return False
    return (urlsplit(target).path or "/").startswith(within)


def redirect_next(request, *, fallback: str, field: str = "next", within: str = "/") -> HttpResponseRedirect:
    """A redirect to safe_next(...): always a URL, never a view name taken from the request."""
    return HttpResponseRedirect(safe_next(request, fallback=fallback, field=field, within=within))
