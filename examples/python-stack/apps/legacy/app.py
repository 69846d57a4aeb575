"""legacy_flask: the legacy Flask app that dev_server.py ran beside the gateway, on port 8000.

GET /health -> {"status": "ok"}, GET / -> a greeting. Disabled in stack.yaml: it wants the
gateway's port. Run by `uv run flask --app apps.legacy.app run --port $PORT`.
"""
from flask import Flask

app = Flask(__name__)


@app.get("/health")
def health():
    return {"status": "ok", "service": "legacy_flask"}


@app.get("/")
def hello():
    return {"service": "legacy_flask", "message": "hello from the legacy app"}
