"""A local stand-in for the platforms' servers (see app.py)."""
import threading

from werkzeug.serving import make_server


def serve_in_thread(*, host: str = "127.0.0.1", port: int = 0):
    """Start the sandbox in a background thread; returns (server, base_url, store)."""
    from connectors.sandbox.app import Store, create_app

    store = Store()
    server = make_server(host, port, create_app(store), threaded=True)
    threading.Thread(target=server.serve_forever, name="platform-sandbox", daemon=True).start()
    return server, f"http://{host}:{server.server_port}", store
