from django.utils.translation import gettext_lazy as _

from accounts.shell import module_home_path

app_name = "creators"
urlpatterns = [
    module_home_path(title=_("Creators"), description=_("Your creator and distributor database, metrics and S/A/B tiers will live here.")),
]
