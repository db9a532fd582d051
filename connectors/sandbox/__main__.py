import argparse
import logging

from werkzeug.serving import make_server

from connectors.sandbox.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Fanout's local platform sandbox (TikTok Shop, Shopify, Amazon)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(args.host, args.port, create_app(), threaded=True)
    print(f"platform sandbox on http://{args.host}:{server.server_port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
