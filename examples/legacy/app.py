"""legacy_flask: stand-in for the legacy Flask app that dev_server.py ran beside the gateway.

Standard library only (no Flask needed). Reads PORT (default 8000), answers
GET /health -> {"status": "ok"} and GET / -> a short JSON greeting, and exits 0 on SIGTERM.
It is disabled in stack.yaml because it wants the gateway's port (8000).
"""
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "8000"))
HOST = os.environ.get("HOST", "127.0.0.1")


class Handler(BaseHTTPRequestHandler):
    def _json(self, status, body):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            self._json(200, {"status": "ok"})
        elif self.path == "/":
            self._json(200, {"service": "legacy_flask", "message": "hello from the legacy app"})
        else:
            self._json(404, {"error": "no route for GET " + self.path})

    def log_message(self, fmt, *args):
        if not self.path.startswith("/health"):
            print("legacy_flask: " + fmt % args, flush=True)


def main():
    try:
        server = ThreadingHTTPServer((HOST, PORT), Handler)
    except OSError as err:
        print(f"legacy_flask: cannot listen on {HOST}:{PORT}: {err.strerror}", file=sys.stderr, flush=True)
        return 1

    def stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"legacy_flask listening on http://{HOST}:{PORT}", flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        print("legacy_flask stopping", flush=True)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
