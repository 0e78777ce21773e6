"""The FastAPI tutorial's items CRUD, written as the FastAPI docs write it (dataclass models,
https://fastapi.tiangolo.com/advanced/dataclasses/); only the import line differs. The test runs
it with `--workers 1` (the items dict is module state) and, when Debian's FastAPI + uvicorn are
installed, runs the same file under them and compares the answers."""

from dataclasses import dataclass
from typing import Union

try:
    from fasterapi import FastAPI, HTTPException
except ImportError:  # the same file under FastAPI + uvicorn (the comparison run)
    from fastapi import FastAPI, HTTPException


@dataclass
class Item:
    name: str
    price: float
    description: Union[str, None] = None
    tax: Union[float, None] = None


app = FastAPI()

items: dict = {}


@app.get("/")
async def root():
    return {"message": "Hello World"}


@app.get("/items/")
async def read_items(skip: int = 0, limit: int = 10):
    return list(items.values())[skip : skip + limit]


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: Union[str, None] = None):
    if item_id not in items:
        raise HTTPException(status_code=404, detail="Item not found")
    item = items[item_id]
    if q:
        return {"item_id": item_id, "q": q, "item": item}
    return item


@app.post("/items/{item_id}")
async def create_item(item_id: int, item: Item):
    if item_id in items:
        raise HTTPException(status_code=400, detail="Item already exists")
    items[item_id] = item
    return item


@app.put("/items/{item_id}")
def update_item(item_id: int, item: Item):
    if item_id not in items:
        raise HTTPException(status_code=404, detail="Item not found")
    items[item_id] = item
    return {"item_name": item.name, "item_id": item_id}


@app.delete("/items/{item_id}")
def delete_item(item_id: int):
    if item_id not in items:
        raise HTTPException(status_code=404, detail="Item not found")
    del items[item_id]
    return {"deleted": item_id}


@app.get("/users/{user_id}/items/{item_id}")
async def read_user_item(user_id: int, item_id: str, q: Union[str, None] = None, short: bool = False):
    item = {"item_id": item_id, "owner_id": user_id}
    if q:
        item.update({"q": q})
    if not short:
        item.update({"description": "This is an amazing item that has a long description"})
    return item
