"""What every service of the stack shares: its /health route and how it finds its dependencies.

stackflow injects PORT into every service and <DEP>_URL (e.g. DATA_URL=http://127.0.0.1:8001)
into each service for every dependency declared under `depends_on` in stack.yaml.
"""
import os

import httpx
from fastapi import FastAPI, HTTPException


def create_app(name: str, **options) -> FastAPI:
    """A FastAPI app named `name` with GET /health -> {"status": "ok", "service": name}; `options` go to FastAPI."""
    app = FastAPI(title=name, **options)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "service": name}

    return app


def dependency_url(name: str) -> str:
    """The base URL stackflow injected for dependency `name` (DATA_URL for "data"); 503 when it is missing."""
    variable = f"{name.upper()}_URL"
    url = os.environ.get(variable)
    if not url:
        raise HTTPException(503, f"{variable} is not set (declare {name} under depends_on in stack.yaml)")
    return url


async def get_json(url: str, timeout: float = 2.0):
    """GET `url` and return its JSON body; a failure becomes a 502 naming the URL."""
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url)
            response.raise_for_status()
            return response.json()
    except httpx.HTTPError as err:
        raise HTTPException(502, f"GET {url} failed: {err}") from err
