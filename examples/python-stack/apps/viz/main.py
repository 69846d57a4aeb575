"""viz (8004): GET /chart -> data's items as an SVG bar chart."""
from fastapi import Response

from apps.common import create_app, dependency_url, get_json

app = create_app("viz")


@app.get("/")
def info() -> dict:
    return {"service": "viz", "data": dependency_url("data")}


@app.get("/chart")
async def chart() -> Response:
    items = await get_json(f"{dependency_url('data')}/items")
    top = max((item["y"] for item in items), default=1) or 1
    bars = "".join(
        f'<rect x="{10 + 40 * i}" y="{110 - 100 * item["y"] / top:.1f}" width="30" height="{100 * item["y"] / top:.1f}"/>'
        for i, item in enumerate(items)
    )
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="{20 + 40 * len(items)}" height="120">{bars}</svg>\n'
    return Response(svg, media_type="image/svg+xml")
