"""user (8005): GET /users, GET /users/{id}."""
from fastapi import HTTPException

from apps.common import create_app

USERS = {1: {"id": 1, "name": "ada"}, 2: {"id": 2, "name": "grace"}}

app = create_app("user")


@app.get("/")
def info() -> dict:
    return {"service": "user", "users": len(USERS)}


@app.get("/users")
def list_users() -> list[dict]:
    return list(USERS.values())


@app.get("/users/{user_id}")
def get_user(user_id: int) -> dict:
    if user_id not in USERS:
        raise HTTPException(404, f"no user {user_id}")
    return USERS[user_id]
