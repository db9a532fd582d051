from django.utils.translation import gettext_lazy as _

from accounts.shell import module_home_path

app_name = "orders"
urlpatterns = [
    module_home_path(title=_("Orders"), description=_("Orders from TikTok Shop, Shopify, Amazon, CSV and the creator portal will arrive here.")),
]
