"""A FastAPI-tutorial-shaped app for the OpenAPI, /docs and 404/405 tests
(tests/integration/python/test_web_docs.py, test_web_docs_chromium.py): items CRUD with
Query/Path/Header markers, dataclass bodies, response_model, a tagged router, a hidden route, and
an MCP tool on the same port."""

from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Optional

from fasterapi import APIRouter, App, FastMCP, Header, HTTPException, Path, Query

app = App(title="Shop", version="2.0.1", description="Items and users, for the docs tests.")
mcp = FastMCP("docs-mcp")


@mcp.tool()
def ping() -> str:
    """Answers pong."""
    return "pong"


class Color(str, Enum):
    red = "red"
    green = "green"


@dataclass
class Item:
    """Something for sale."""

    name: str
    price: float
    color: Color = Color.red
    description: Optional[str] = None


@dataclass
class ItemOut:
    name: str
    price: float


items: dict[int, Item] = {1: Item("Hammer", 9.5)}


@app.get("/items/", tags=["items"])
def list_items(
    skip: Annotated[int, Query(ge=0, description="How many to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[ItemOut]:
    """Lists the items.

    A page of them, in id order.
    """
    return [ItemOut(i.name, i.price) for i in list(items.values())[skip : skip + limit]]


@app.get("/items/{item_id}", tags=["items"], response_model=ItemOut)
def read_item(
    item_id: Annotated[int, Path(ge=1, description="The item's id")],
    q: Annotated[Optional[str], Query(max_length=20, pattern="^[a-z]+$")] = None,
):
    if item_id not in items:
        raise HTTPException(status_code=404, detail="Item not found")
    item = items[item_id]
    return {"name": item.name, "price": item.price, "secret": "not shown"}


@app.post("/items/{item_id}", tags=["items"], status_code=201, summary="Create an item")
def create_item(item_id: int, item: Item) -> Item:
    items[item_id] = item
    return item


@app.delete("/items/{item_id}", tags=["items"], status_code=204)
def delete_item(item_id: int) -> None:
    items.pop(item_id, None)


users = APIRouter(prefix="/users", tags=["users"])


@users.get("/me")
def read_me(x_token: Annotated[str, Header(description="The caller's token")]):
    return {"token": x_token}


@users.get("/{user_id}", deprecated=True)
def read_user(user_id: int, color: Color = Color.green):
    return {"user_id": user_id, "color": color}


app.include_router(users)


@app.get("/internal", include_in_schema=False)
def internal():
    return {"hidden": True}
