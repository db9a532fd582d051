import pytest

from connectors.sandbox import serve_in_thread


@pytest.fixture(scope="session")
def sandbox_server():
    server, url, store = serve_in_thread()
    yield url, store
    server.shutdown()


@pytest.fixture
def sandbox(sandbox_server, settings):
    """The platform sandbox over real HTTP, emptied for each test; shops connect to it."""
    url, store = sandbox_server
    store.reset()
    settings.FANOUT_PLATFORM_SANDBOX_URL = url
    return url, store
