"""HTTP clients for the platforms, one module each, all built on `base.ApiClient`."""
from connectors.clients.base import (
    ApiClient,
    ChannelAuthError,
    ChannelError,
    ChannelRateLimited,
    ChannelRequestError,
    ChannelResponseError,
    ChannelTokenError,
    ChannelTransientError,
    StockItem,
    Tokens,
)

__all__ = [
    "ApiClient", "ChannelAuthError", "ChannelError", "ChannelRateLimited", "ChannelRequestError", "ChannelResponseError",
    "ChannelTokenError", "ChannelTransientError", "StockItem", "Tokens", "client_class",
]


def client_class(platform: str) -> type[ApiClient]:
    from connectors.clients.amazon import AmazonClient
    from connectors.clients.shopify import ShopifyClient
    from connectors.clients.tiktok import TikTokShopClient

    return {"tiktok_shop": TikTokShopClient, "shopify": ShopifyClient, "amazon": AmazonClient}[platform]
