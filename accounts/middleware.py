import zoneinfo

from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation

from accounts.modules import DUTY_PAGES, DUTY_PAGES_OPEN_TO_HOLDERS, Module

_MODULE_NAMESPACES = frozenset(Module.values)


class UserPreferencesMiddleware:
    """Show times in the signed-in user's time zone and pages in their language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(user, "time_zone"):
            timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        else:
            timezone.deactivate()
        return self.get_response(request)


class ModulePermissionMiddleware:
    """The one place that decides whether a staff member may use a module: every URL included
    under a module's namespace (orders:, inventory:, team:, ...) answers 403 to a user whose
    role lacks that module. Anonymous users never get here (LoginRequiredMiddleware runs first).
    Pages that change money settings or integrations (accounts.modules.DUTY_PAGES) take changes
    only from the roles with that duty; the module's other roles may look."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        modules = [ns for ns in (match.namespaces if match else []) if ns in _MODULE_NAMESPACES]
        if not modules:
            return None
        user = request.user
        if not user.is_authenticated:
            raise PermissionDenied
        duty = DUTY_PAGES.get(match.view_name)
        holder = duty is not None and user.has_duty(duty)
        if not all(user.can_use(m) for m in modules) and not (holder and match.view_name in DUTY_PAGES_OPEN_TO_HOLDERS):
            raise PermissionDenied
        if duty is not None and not holder and request.method not in ("GET", "HEAD", "OPTIONS"):
            raise PermissionDenied
        return None
