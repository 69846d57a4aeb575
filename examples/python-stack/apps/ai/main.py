"""ai (8002): GET /predict?x=6 -> a least-squares line fitted to data's items, evaluated at x."""
from apps.common import create_app, dependency_url, get_json

app = create_app("ai")


@app.get("/")
def info() -> dict:
    return {"service": "ai", "data": dependency_url("data")}


@app.get("/predict")
async def predict(x: float) -> dict:
    items = await get_json(f"{dependency_url('data')}/items")
    n = len(items)
    mean_x = sum(i["x"] for i in items) / n
    mean_y = sum(i["y"] for i in items) / n
    spread = sum((i["x"] - mean_x) ** 2 for i in items) or 1.0
    slope = sum((i["x"] - mean_x) * (i["y"] - mean_y) for i in items) / spread
    intercept = mean_y - slope * mean_x
    return {"x": x, "y": round(intercept + slope * x, 3), "slope": round(slope, 3), "intercept": round(intercept, 3)}
