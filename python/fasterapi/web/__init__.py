"""fasterapi.web: FastAPI-style web apps on the FasterAPI C HTTP core (standard library only).

    from fasterapi import App, HTTPException

    app = App()

    @app.get("/items/{item_id}")
    def read_item(item_id: int, q: str | None = None):
        return {"item_id": item_id, "q": q}

Run with `fasterapi run app.py --http 127.0.0.1:8000`.
"""

from .app import App, APIRouter, Route, WebHost
from .datastructures import URL, Address, Headers, QueryParams
from .exceptions import HTTPException, RequestValidationError, WebAppError
from .params import Body, Cookie, Depends, Form, Header, Path, Query
from .request import Request
from .websockets import WebSocket, WebSocketDisconnect, WebSocketState
from .responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from .streaming import StreamingResponse

FastAPI = App  # `from fasterapi import FastAPI` keeps a FastAPI app's code as it is

__all__ = [
    "App", "FastAPI", "APIRouter", "Route", "WebHost", "Request", "Response", "JSONResponse",
    "PlainTextResponse", "HTMLResponse", "StreamingResponse", "RedirectResponse", "FileResponse", "HTTPException",
    "RequestValidationError", "WebAppError", "Depends", "Query", "Path", "Header", "Cookie", "Body",
    "Form", "Headers", "QueryParams", "URL", "Address", "WebSocket", "WebSocketDisconnect",
    "WebSocketState",
]
