from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.services import login_link_create
from erp.tenancy import tenant_site_url
from sellers.exceptions import SignupError
from sellers.forms import SignupForm
from sellers.services import seller_signup


@login_not_required
def landing(request):
    return render(request, "sellers/landing.html", {"base_domain": settings.FANOUT_BASE_DOMAIN})


@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request):
    form = SignupForm(request.POST if request.method == "POST" else None, base_domain=settings.FANOUT_BASE_DOMAIN)
    if request.method == "POST" and form.is_valid():
        try:
            result = seller_signup(**form.cleaned_data, owner_language=request.LANGUAGE_CODE,
                                   owner_time_zone=request.POST.get("browser_time_zone", ""))
        except SignupError as exc:
            for field, messages in exc.errors.items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            token = login_link_create(user=result.owner, schema_name=result.seller.schema_name)
            return redirect(tenant_site_url(request=request, subdomain=result.seller.subdomain, path=f"/welcome/{token}/"))
    return render(request, "sellers/signup.html", {"form": form, "base_domain": settings.FANOUT_BASE_DOMAIN})
