from django.utils.translation import gettext_lazy as _

from accounts.shell import module_home_path

app_name = "inventory"
urlpatterns = [
    module_home_path(title=_("Inventory"), description=_("Products, SKUs, the shared stock pool, allocations and reorder alerts will live here.")),
]
