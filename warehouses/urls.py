from django.utils.translation import gettext_lazy as _

from accounts.shell import module_home_path

app_name = "warehouses"
urlpatterns = [
    module_home_path(title=_("Warehouses"), description=_("Warehouse locations, routing, shipments and tracking will live here.")),
]
