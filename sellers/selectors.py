from sellers.models import Seller


def seller_list_for_admin():
    return Seller.objects.exclude(schema_name="public").prefetch_related("domains").order_by("name")
