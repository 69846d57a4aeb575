"""data (8001): owns the items, kept in a SQLite file under the stack's state directory.

GET /items, GET /items/{id}, POST /items {"name", "x", "y"}. The file is $DATA_DB (stack.yaml
sets it to <STACKFLOW_HOME>/python/data.db); the table is created and seeded on first start.
"""
import os
import sqlite3
from contextlib import asynccontextmanager, closing
from pathlib import Path

from fastapi import HTTPException
from pydantic import BaseModel

from apps.common import create_app

DB = Path(os.environ.get("DATA_DB", "data.db"))
SEED = [("alpha", 1, 2.1), ("beta", 2, 3.9), ("gamma", 3, 6.2), ("delta", 4, 7.8)]

class Item(BaseModel):
    name: str
    x: float
    y: float


def connect() -> sqlite3.Connection:
    connection = sqlite3.connect(DB)
    connection.row_factory = sqlite3.Row
    return connection


@asynccontextmanager
async def create_table(_app):
    DB.parent.mkdir(parents=True, exist_ok=True)
    with closing(connect()) as db, db:
        db.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, x REAL, y REAL)")
        if db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0:
            db.executemany("INSERT INTO items (name, x, y) VALUES (?, ?, ?)", SEED)
    yield


app = create_app("data", lifespan=create_table)


@app.get("/")
def info() -> dict:
    return {"service": "data", "database": str(DB.resolve())}


@app.get("/items")
def list_items() -> list[dict]:
    with closing(connect()) as db:
        return [dict(row) for row in db.execute("SELECT id, name, x, y FROM items ORDER BY id")]


@app.get("/items/{item_id}")
def get_item(item_id: int) -> dict:
    with closing(connect()) as db:
        row = db.execute("SELECT id, name, x, y FROM items WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        raise HTTPException(404, f"no item {item_id}")
    return dict(row)


@app.post("/items", status_code=201)
def add_item(item: Item) -> dict:
    with closing(connect()) as db, db:
        cursor = db.execute("INSERT INTO items (name, x, y) VALUES (?, ?, ?)", (item.name, item.x, item.y))
    return {"id": cursor.lastrowid, **item.model_dump()}
