"""compute (8003): GET /sum?a=2&b=3 -> 5; GET /sum -> the total of data's item values (y)."""
from typing import Optional

from apps.common import create_app, dependency_url, get_json

app = create_app("compute")


@app.get("/")
def info() -> dict:
    return {"service": "compute", "data": dependency_url("data")}


@app.get("/sum")
async def total(a: Optional[float] = None, b: Optional[float] = None) -> dict:
    if a is not None and b is not None:
        return {"sum": a + b}
    items = await get_json(f"{dependency_url('data')}/items")
    return {"sum": round(sum(item["y"] for item in items), 3), "items": len(items)}
