"""api_gateway (8000): the single entry point.

GET /                   -> every backend's URL (from the <DEP>_URL variables stackflow injects) and
                           health; 200 when all answer, 503 otherwise
GET /{backend}/{path}   -> proxied to <BACKEND>_URL/{path}, e.g. /ai/predict?x=6 -> $AI_URL/predict?x=6
"""
import asyncio

import httpx
from fastapi import HTTPException, Request, Response
from fastapi.responses import JSONResponse

from apps.common import create_app, dependency_url

BACKENDS = ["data", "ai", "compute", "viz", "user"]

app = create_app("api_gateway")


async def backend_health(client: httpx.AsyncClient, name: str) -> dict:
    try:
        url = dependency_url(name)
    except HTTPException as err:
        return {"url": None, "status": "down", "error": err.detail}
    try:
        response = await client.get(f"{url}/health")
        response.raise_for_status()
        return {"url": url, "status": response.json().get("status", "ok")}
    except httpx.HTTPError as err:
        return {"url": url, "status": "down", "error": str(err) or type(err).__name__}


@app.get("/")
async def backends() -> JSONResponse:
    async with httpx.AsyncClient(timeout=1.0) as client:
        results = await asyncio.gather(*(backend_health(client, name) for name in BACKENDS))
    ok = all(result["status"] == "ok" for result in results)
    body = {"service": "api_gateway", "status": "ok" if ok else "degraded", "backends": dict(zip(BACKENDS, results))}
    return JSONResponse(body, status_code=200 if ok else 503)


@app.get("/{backend}/{path:path}")
async def proxy(backend: str, path: str, request: Request) -> Response:
    if backend not in BACKENDS:
        raise HTTPException(404, f"no backend {backend} (one of {', '.join(BACKENDS)})")
    url = f"{dependency_url(backend)}/{path}"
    async with httpx.AsyncClient(timeout=5.0) as client:
        try:
            upstream = await client.get(url, params=request.query_params)
        except httpx.HTTPError as err:
            raise HTTPException(502, f"GET {url} failed: {err}") from err
    return Response(upstream.content, status_code=upstream.status_code, media_type=upstream.headers.get("content-type"))
