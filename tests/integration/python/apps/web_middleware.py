"""An app with middleware written as FastAPI's docs write it (only the import lines differ:
`fastapi` -> `fasterapi`): the process-time header middleware, CORS, an auth short-circuit, and
routes that raise and stream (tests/integration/python/test_web_middleware.py)."""

import asyncio
import time

from fasterapi import FastAPI, HTTPException, Request
from fasterapi.middleware.cors import CORSMiddleware
from fasterapi.web import JSONResponse, StreamingResponse

app = FastAPI()

origins = [
    "http://localhost.tiangolo.com",
    "https://localhost.tiangolo.com",
    "http://localhost",
    "http://localhost:8080",
]

app.add_middleware(
    CORSMiddleware,
    allow_origins=origins,
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)


@app.middleware("http")
async def add_process_time_header(request: Request, call_next):
    start_time = time.perf_counter()
    response = await call_next(request)
    process_time = time.perf_counter() - start_time
    response.headers["X-Process-Time"] = str(process_time)
    return response


@app.middleware("http")
async def auth(request: Request, call_next):
    """Outermost (added last): /private needs a token; every answer gets X-Order."""
    if request.url.path.startswith("/private") and request.headers.get("authorization") != "Bearer secret":
        return JSONResponse({"detail": "Not authenticated"}, status_code=401)
    request.state.user = "alice"
    response = await call_next(request)
    response.headers["X-Order"] = "auth>" + response.headers.get("X-Inner", "none")
    return response


@app.get("/")
async def main():
    return {"message": "Hello World"}


@app.get("/items/{item_id}")
def read_item(item_id: int, request: Request):
    return {"item_id": item_id, "user": request.state.user}


@app.post("/items/")
async def create_item(request: Request):
    return {"created": await request.json()}


@app.get("/private/data")
def private():
    return {"secret": 42}


@app.get("/boom")
def boom():
    raise RuntimeError("the route failed")


@app.get("/missing")
async def missing():
    raise HTTPException(status_code=404, detail="Item not found")


@app.get("/stream")
async def stream():
    async def gen():
        for i in range(3):
            yield f"chunk{i}\n"
            await asyncio.sleep(0.05)

    return StreamingResponse(gen(), media_type="text/plain")


@app.get("/inner")
def inner():
    return JSONResponse({"ok": True}, headers={"X-Inner": "route"})
