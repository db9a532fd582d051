from django.utils.translation import gettext_lazy as _

from accounts.shell import module_home_path

app_name = "commissions"
urlpatterns = [
    module_home_path(title=_("Commissions"), description=_("Profit per order, commission lines, settlements, statements and payouts will live here.")),
]
