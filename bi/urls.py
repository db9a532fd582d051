from django.utils.translation import gettext_lazy as _

from accounts.shell import module_home_path

app_name = "bi"
urlpatterns = [
    module_home_path(title=_("Insights"), description=_("Profit, creator, channel, warehouse and SLA dashboards will live here.")),
]
