"""Serve web/ on one address, with the cross-origin isolation headers that let TF.js's WASM
backend use threads (SharedArrayBuffer needs them); without them the pages still work, on one
thread. The pages are static: this is `python -m http.server` plus two headers.

    python web/tools/serve.py [--bind 127.0.0.1] [--port 8000] [--directory web]
"""

import argparse
import functools
import http.server

ISOLATION_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}


class IsolatedHandler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--directory", default="web")
    args = parser.parse_args()
    handler = functools.partial(IsolatedHandler, directory=args.directory)
    with http.server.ThreadingHTTPServer((args.bind, args.port), handler) as server:
        print(f"Serving {args.directory} on http://{args.bind}:{args.port}/ (cross-origin isolated)")
        server.serve_forever()


if __name__ == "__main__":
    main()
