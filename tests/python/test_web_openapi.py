"""fasterapi.web.openapi: the OpenAPI 3.1 document of an App (GET /openapi.json) and the /docs
page, for typical FastAPI tutorial apps. Every document is also checked against the OpenAPI 3.1
structure by check_openapi (hand-written from the specification, OAS 3.1.0 §4.8: no network, no
third-party validator)."""

from __future__ import annotations

import json
import re
import unittest
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Optional, TypedDict

from fasterapi.web import APIRouter, App, Body, Cookie, Depends, Form, Header, HTMLResponse, Path, PlainTextResponse, Query
from fasterapi.web.testing import TestClient

# ---------------------------------------------------------------------------------------------
# OpenAPI 3.1 structure (OAS 3.1.0 §4.8)

_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
_PARAM_IN = {"query", "header", "path", "cookie"}
_COMPONENT_NAME = re.compile(r"^[a-zA-Z0-9.\-_]+$")  # §4.8.7.1
_STATUS = re.compile(r"^([1-5][0-9][0-9]|[1-5]XX|default)$")  # §4.8.16.2
_TEMPLATE = re.compile(r"\{([^{}/]+)\}")


def check_openapi(doc: Any) -> None:
    """Raises AssertionError naming the first place where `doc` is not an OpenAPI 3.1 document
    (the parts we produce: info, paths, operations, parameters, request bodies, responses,
    components/schemas, tags, and every local $ref resolving)."""

    def need(cond: bool, where: str, why: str) -> None:
        if not cond:
            raise AssertionError(f"{where}: {why}")

    need(isinstance(doc, dict), "$", "not an object")
    need(isinstance(doc.get("openapi"), str) and re.match(r"^3\.1\.\d+$", doc["openapi"]) is not None, "$.openapi", "not 3.1.x")
    info = doc.get("info")
    need(isinstance(info, dict), "$.info", "missing")
    need(isinstance(info.get("title"), str), "$.info.title", "not a string")
    need(isinstance(info.get("version"), str), "$.info.version", "not a string")
    for k in ("description", "summary"):
        need(k not in info or isinstance(info[k], str), f"$.info.{k}", "not a string")
    need(any(k in doc for k in ("paths", "components", "webhooks")), "$", "needs paths, components or webhooks")
    schemas = doc.get("components", {}).get("schemas", {})
    need(isinstance(schemas, dict), "$.components.schemas", "not an object")
    for name, s in schemas.items():
        need(_COMPONENT_NAME.match(name) is not None, f"$.components.schemas.{name}", "bad component name")
        need(isinstance(s, (dict, bool)), f"$.components.schemas.{name}", "not a schema")
    op_ids: set[str] = set()
    paths = doc.get("paths", {})
    need(isinstance(paths, dict), "$.paths", "not an object")
    for path, item in paths.items():
        where = f"$.paths[{path!r}]"
        need(path.startswith("/"), where, "does not start with /")
        need(isinstance(item, dict) and item, where, "empty path item")
        templated = set(_TEMPLATE.findall(path))
        for method, op in item.items():
            w = f"{where}.{method}"
            need(method in _METHODS, w, "not an HTTP method")
            need(isinstance(op, dict), w, "not an operation")
            op_id = op.get("operationId")
            if op_id is not None:
                need(isinstance(op_id, str) and op_id not in op_ids, w, f"operationId {op_id!r} not unique")
                op_ids.add(op_id)
            for k in ("summary", "description"):
                need(k not in op or isinstance(op[k], str), f"{w}.{k}", "not a string")
            need(all(isinstance(t, str) for t in op.get("tags", [])), f"{w}.tags", "not strings")
            need(isinstance(op.get("deprecated", False), bool), f"{w}.deprecated", "not a boolean")
            seen: set[tuple[str, str]] = set()
            in_path: set[str] = set()
            for i, p in enumerate(op.get("parameters", [])):
                pw = f"{w}.parameters[{i}]"
                need(isinstance(p.get("name"), str) and p["name"], pw, "no name")
                need(p.get("in") in _PARAM_IN, pw, f"bad 'in' {p.get('in')!r}")
                key = (p["in"], p["name"].lower() if p["in"] == "header" else p["name"])
                need(key not in seen, pw, "duplicate parameter")
                seen.add(key)
                need(("schema" in p) != ("content" in p), pw, "needs exactly one of schema/content")
                need(isinstance(p.get("schema", {}), dict), pw, "schema is not an object")
                if p["in"] == "path":
                    need(p.get("required") is True, pw, "a path parameter must be required")
                    need(p["name"] in templated, pw, "path parameter not in the path template")
                    in_path.add(p["name"])
                need(isinstance(p.get("required", False), bool), pw, "required is not a boolean")
            need(in_path == templated, w, f"path template parameters {sorted(templated)} vs declared {sorted(in_path)}")
            if "requestBody" in op:
                rb = op["requestBody"]
                need(isinstance(rb.get("content"), dict) and rb["content"], f"{w}.requestBody", "no content")
                need(isinstance(rb.get("required", False), bool), f"{w}.requestBody.required", "not a boolean")
                for mt, media in rb["content"].items():
                    need("/" in mt, f"{w}.requestBody.content", f"bad media type {mt!r}")
                    need(isinstance(media, dict), f"{w}.requestBody.content.{mt}", "not a media type object")
            responses = op.get("responses")
            need(isinstance(responses, dict) and responses, f"{w}.responses", "missing or empty")
            for code, r in responses.items():
                rw = f"{w}.responses.{code}"
                need(_STATUS.match(code) is not None, rw, "bad status code key")
                need(isinstance(r.get("description"), str), rw, "no description")
                for mt, media in r.get("content", {}).items():
                    need("/" in mt and isinstance(media, dict), rw, f"bad content {mt!r}")
    for i, t in enumerate(doc.get("tags", [])):
        need(isinstance(t, dict) and isinstance(t.get("name"), str), f"$.tags[{i}]", "a tag needs a name")

    def refs(node: Any, where: str) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                need(ref.startswith("#/components/schemas/"), where, f"$ref {ref!r} is not a component schema")
                need(ref[len("#/components/schemas/") :] in schemas, where, f"$ref {ref!r} does not resolve")
            for k, v in node.items():
                refs(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                refs(v, f"{where}[{i}]")

    refs(doc, "$")
    json.dumps(doc)  # JSON all the way down


# ---------------------------------------------------------------------------------------------
# Apps


class Color(str, Enum):
    red = "red"
    green = "green"


@dataclass
class Item:
    """An item for sale."""

    name: str
    price: float
    description: Optional[str] = None
    tax: Optional[float] = None


@dataclass
class User:
    username: str
    full_name: Optional[str] = None


@dataclass
class UserIn:
    username: str
    password: str


class Opaque:
    """Not JSON: documented as any value."""

    __slots__ = ()


class Stats(TypedDict):
    count: int
    names: list[str]


def crud_app() -> App:
    app = App(title="Items API", version="1.0.0", description="Tutorial CRUD")

    @app.get("/items/", tags=["items"])
    def read_items(
        skip: Annotated[int, Query(ge=0, description="Rows to skip")] = 0,
        limit: int = Query(10, le=100),
        q: Annotated[Optional[str], Query(min_length=3, max_length=50, pattern="^fixed")] = None,
        tag: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI's spelling of a repeated key
    ) -> list[Item]:
        """Read items.

        Returns a page.
        \f
        Internal notes that the document must not show.
        """
        return []

    @app.get("/items/{item_id}", tags=["items"], response_model=Item)
    def read_item(item_id: Annotated[int, Path(title="The ID of the item", ge=1)], color: Color = Color.red):
        return {}

    @app.post("/items/", status_code=201, tags=["items"])
    def create_item(item: Item) -> Item:
        return item

    @app.put("/items/{item_id}", tags=["items"])
    def update_item(item_id: int, item: Item, user: User, importance: Annotated[int, Body(gt=0)]):
        return {}

    @app.patch("/items/{item_id}/name")
    def rename(item_id: int, name: Annotated[str, Body(embed=True)]):
        return {}

    @app.delete("/items/{item_id}", status_code=204, tags=["items"], deprecated=True)
    def delete_item(item_id: int) -> None:
        return None

    @app.post("/users/", response_model=User, summary="Make a user", description="Creates one.")
    def create_user(user: UserIn):
        return user

    @app.get("/stats", response_class=PlainTextResponse)
    def stats() -> str:
        return "n"

    @app.get("/page", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return "<p>"

    @app.get("/hello")
    def hello() -> str:
        return "hi"

    @app.get("/typed")
    def typed() -> Stats:
        return {"count": 0, "names": []}

    return app


class OpenAPIDocumentTest(unittest.TestCase):
    def setUp(self) -> None:
        self.app = crud_app()
        self.doc = self.app.openapi()
        check_openapi(self.doc)

    def op(self, path: str, method: str) -> dict[str, Any]:
        return self.doc["paths"][path][method]

    def test_info_and_paths(self) -> None:
        self.assertEqual(self.doc["openapi"], "3.1.0")
        self.assertEqual(self.doc["info"], {"title": "Items API", "description": "Tutorial CRUD", "version": "1.0.0"})
        self.assertEqual(
            {p: sorted(v) for p, v in self.doc["paths"].items()},
            {"/items/": ["get", "post"], "/items/{item_id}": ["delete", "get", "put"], "/items/{item_id}/name": ["patch"],
             "/users/": ["post"], "/stats": ["get"], "/hello": ["get"], "/typed": ["get"]},
        )  # /page (include_in_schema=False), /openapi.json and /docs are not described

    def test_operation_ids_summaries_descriptions(self) -> None:
        op = self.op("/items/", "get")
        self.assertEqual(op["operationId"], "read_items_items__get")
        self.assertEqual(op["summary"], "Read Items")
        self.assertEqual(op["description"], "Read items.\n\nReturns a page.")  # cut at the form feed
        self.assertEqual(op["tags"], ["items"])
        self.assertEqual(self.op("/items/{item_id}", "get")["operationId"], "read_item_items__item_id__get")
        users = self.op("/users/", "post")
        self.assertEqual((users["summary"], users["description"]), ("Make a user", "Creates one."))
        self.assertNotIn("tags", users)
        self.assertIs(self.op("/items/{item_id}", "delete")["deprecated"], True)

    def test_query_parameters_with_constraints(self) -> None:
        params = {p["name"]: p for p in self.op("/items/", "get")["parameters"]}
        self.assertEqual(list(params), ["skip", "limit", "q", "tag"])
        self.assertEqual(params["skip"], {"name": "skip", "in": "query", "required": False, "description": "Rows to skip",
                                          "schema": {"type": "integer", "description": "Rows to skip", "minimum": 0, "default": 0, "title": "Skip"}})
        self.assertEqual(params["limit"]["schema"], {"type": "integer", "default": 10, "maximum": 100, "title": "Limit"})
        self.assertEqual(params["q"]["schema"], {"anyOf": [{"type": "string"}, {"type": "null"}], "minLength": 3, "maxLength": 50, "pattern": "^fixed", "default": None, "title": "Q"})
        self.assertEqual(params["tag"]["schema"], {"type": "array", "items": {"type": "string"}, "default": [], "title": "Tag"})

    def test_path_parameter_and_enum(self) -> None:
        params = self.op("/items/{item_id}", "get")["parameters"]
        self.assertEqual(params[0], {"name": "item_id", "in": "path", "required": True,
                                     "schema": {"type": "integer", "title": "The ID of the item", "minimum": 1}})
        self.assertEqual(params[1]["schema"], {"$ref": "#/components/schemas/Color", "default": "red", "title": "Color"})
        self.assertEqual(self.doc["components"]["schemas"]["Color"], {"title": "Color", "type": "string", "enum": ["red", "green"]})

    def test_dataclass_body_and_responses(self) -> None:
        op = self.op("/items/", "post")
        self.assertEqual(op["requestBody"], {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}, "required": True})
        self.assertEqual(sorted(op["responses"]), ["201", "422"])
        self.assertEqual(op["responses"]["201"]["content"]["application/json"]["schema"], {"$ref": "#/components/schemas/Item"})
        item = self.doc["components"]["schemas"]["Item"]
        self.assertEqual(item["required"], ["name", "price"])
        self.assertEqual(item["description"], "An item for sale.")
        self.assertEqual(item["properties"]["price"], {"type": "number"})
        self.assertEqual(item["properties"]["tax"], {"anyOf": [{"type": "number"}, {"type": "null"}], "default": None})

    def test_several_bodies_are_embedded(self) -> None:
        op = self.op("/items/{item_id}", "put")
        self.assertEqual(op["requestBody"]["content"]["application/json"]["schema"], {"$ref": "#/components/schemas/Body_update_item_items__item_id__put"})
        body = self.doc["components"]["schemas"]["Body_update_item_items__item_id__put"]
        self.assertEqual(body["required"], ["item", "user", "importance"])
        self.assertEqual(body["properties"]["item"], {"$ref": "#/components/schemas/Item"})
        self.assertEqual(body["properties"]["importance"], {"type": "integer", "exclusiveMinimum": 0, "title": "Importance"})
        embed = self.doc["components"]["schemas"]["Body_rename_items__item_id__name_patch"]
        self.assertEqual(embed["properties"], {"name": {"type": "string", "title": "Name"}})

    def test_response_model_and_return_annotation(self) -> None:
        ok = self.op("/users/", "post")["responses"]["200"]
        self.assertEqual(ok, {"description": "Successful Response", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}})
        items = self.op("/items/", "get")["responses"]["200"]["content"]["application/json"]["schema"]
        self.assertEqual(items, {"type": "array", "items": {"$ref": "#/components/schemas/Item"}})
        typed = self.op("/typed", "get")["responses"]["200"]["content"]["application/json"]["schema"]
        self.assertEqual(typed, {"$ref": "#/components/schemas/Stats"})
        self.assertEqual(self.doc["components"]["schemas"]["Stats"]["required"], ["count", "names"])
        self.assertEqual(self.op("/stats", "get")["responses"]["200"]["content"], {"text/plain": {"schema": {"type": "string"}}})
        self.assertEqual(self.op("/hello", "get")["responses"]["200"]["content"], {"text/plain": {"schema": {"type": "string"}}})
        self.assertEqual(TestClient(self.app).get("/hello").headers["content-type"], "text/plain; charset=utf-8")
        # 204: no content; no parameters: no 422.
        self.assertEqual(self.op("/items/{item_id}", "delete")["responses"]["204"], {"description": "Successful Response"})
        self.assertEqual(list(self.op("/stats", "get")["responses"]), ["200"])

    def test_validation_error_schema_is_fastapis(self) -> None:
        schemas = self.doc["components"]["schemas"]
        self.assertEqual(self.op("/items/", "post")["responses"]["422"],
                         {"description": "Validation Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}})
        self.assertEqual(schemas["HTTPValidationError"]["properties"]["detail"]["items"], {"$ref": "#/components/schemas/ValidationError"})
        ve = schemas["ValidationError"]
        self.assertEqual(ve["required"], ["loc", "msg", "type"])
        self.assertEqual(ve["properties"]["loc"]["items"], {"anyOf": [{"type": "string"}, {"type": "integer"}]})

    def test_a_422_body_matches_the_documented_schema(self) -> None:
        c = TestClient(self.app)
        r = c.get("/items/", params={"skip": "-1", "q": "ab"})
        self.assertEqual(r.status_code, 422)
        ve = self.doc["components"]["schemas"]["ValidationError"]
        for e in r.json()["detail"]:
            self.assertTrue(set(ve["required"]) <= set(e) <= set(ve["properties"]), e)
            self.assertTrue(all(isinstance(x, (str, int)) for x in e["loc"]))

    def test_served_document_is_the_same(self) -> None:
        c = TestClient(self.app)
        r = c.get("/openapi.json")
        self.assertEqual((r.status_code, r.headers["content-type"]), (200, "application/json"))
        self.assertEqual(r.json(), self.doc)
        self.assertIs(self.app.openapi(), self.doc)  # built once


class CheckerTest(unittest.TestCase):
    """check_openapi itself: it refuses documents that break the rules it checks."""

    def test_refuses_broken_documents(self) -> None:
        good = crud_app().openapi()
        check_openapi(good)

        def broken(edit: Any) -> dict[str, Any]:
            doc = json.loads(json.dumps(good))
            edit(doc)
            return doc

        cases = [
            lambda d: d.update(openapi="3.0.2"),
            lambda d: d["info"].pop("version"),
            lambda d: d["paths"]["/items/{item_id}"]["get"]["parameters"][0].update(required=False),
            lambda d: d["paths"]["/items/{item_id}"]["get"]["parameters"].pop(0),
            lambda d: d["paths"]["/items/"]["get"]["parameters"].append({"name": "skip", "in": "query", "schema": {}}),
            lambda d: d["paths"]["/items/"]["get"]["parameters"][0].update({"in": "body"}),
            lambda d: d["paths"]["/items/"]["post"].update(operationId="read_items_items__get"),
            lambda d: d["paths"]["/items/"]["post"]["responses"]["201"].pop("description"),
            lambda d: d["paths"]["/items/"]["post"]["responses"].update({"20": {"description": "x"}}),
            lambda d: d["components"]["schemas"].pop("Item"),
            lambda d: d["paths"]["/stats"].update(fetch={"responses": {"200": {"description": "x"}}}),
        ]
        for i, edit in enumerate(cases):
            with self.subTest(case=i), self.assertRaises(AssertionError):
                check_openapi(broken(edit))


class RouterAndMarkerTest(unittest.TestCase):
    def test_router_tags_prefixes_dependencies_headers_cookies_forms(self) -> None:
        app = App(openapi_tags=[{"name": "users", "description": "People"}])

        def common(token: Annotated[str, Header()], page: int = 1) -> int:
            return page

        router = APIRouter(prefix="/users", tags=["users"], dependencies=[Depends(common)])

        @router.get("/{user_id}", tags=["extra"], responses={404: {"description": "No such user"}})
        def read_user(user_id: str, session: Annotated[Optional[str], Cookie()] = None, page: int = Depends(common)):
            return {}

        @router.post("/login")
        def login(username: Annotated[str, Form()], password: Annotated[str, Form(min_length=8)]):
            return {}

        admin = APIRouter()

        @admin.get("/admin/{thing:path}")
        def admin_thing(thing: str):
            return {}

        @admin.get("/secret")
        def secret():
            return {}

        app.include_router(router, prefix="/v1", tags=["v1"])
        app.include_router(admin, tags=["admin"], deprecated=True, responses={418: {"description": "teapot"}})
        app.include_router(APIRouter(), include_in_schema=False)
        hidden = APIRouter()

        @hidden.get("/hidden")
        def hide():
            return {}

        app.include_router(hidden, include_in_schema=False)
        doc = app.openapi()
        check_openapi(doc)
        self.assertEqual(doc["tags"], [{"name": "users", "description": "People"}])
        op = doc["paths"]["/v1/users/{user_id}"]["get"]
        self.assertEqual(op["tags"], ["v1", "users", "extra"])
        # The router dependency's header and query, the handler's path and cookie: each once.
        self.assertEqual([(p["in"], p["name"]) for p in op["parameters"]],
                         [("header", "token"), ("query", "page"), ("path", "user_id"), ("cookie", "session")])
        self.assertEqual(op["responses"]["404"], {"description": "No such user"})
        login = doc["paths"]["/v1/users/login"]["post"]
        self.assertEqual(list(login["requestBody"]["content"]), ["application/x-www-form-urlencoded"])
        form = doc["components"]["schemas"]["Body_login_v1_users_login_post"]
        self.assertEqual(form["required"], ["username", "password"])
        self.assertEqual(form["properties"]["password"], {"type": "string", "minLength": 8, "title": "Password"})
        thing = doc["paths"]["/admin/{thing}"]["get"]  # the converter is not part of the template
        self.assertEqual((thing["tags"], thing["deprecated"]), (["admin"], True))
        self.assertEqual(thing["responses"]["418"], {"description": "teapot"})
        self.assertNotIn("/hidden", doc["paths"])

    def test_header_alias_and_underscores(self) -> None:
        app = App()

        @app.get("/h")
        def h(user_agent: Annotated[Optional[str], Header()] = None, x_raw: Annotated[str, Header(alias="X_Raw")] = ""):
            return {}

        doc = app.openapi()
        check_openapi(doc)
        self.assertEqual([p["name"] for p in doc["paths"]["/h"]["get"]["parameters"]], ["user-agent", "X_Raw"])

    def test_path_parameter_the_handler_does_not_read(self) -> None:
        app = App()

        def owner(org: str) -> str:
            return org

        @app.get("/orgs/{org}/repos/{repo:path}", dependencies=[Depends(owner)])
        def repo():
            return {}

        doc = app.openapi()
        check_openapi(doc)
        params = doc["paths"]["/orgs/{org}/repos/{repo}"]["get"]["parameters"]
        self.assertEqual(params, [{"name": "org", "in": "path", "required": True, "schema": {"type": "string", "title": "Org"}},
                                  {"name": "repo", "in": "path", "required": True, "schema": {"type": "string", "title": "Repo"}}])

    def test_docstring_parameter_descriptions(self) -> None:
        app = App()

        @app.get("/d/{x}")
        def d(x: int, y: str = "a"):
            """Does d.

            Args:
                x: the x value
                y: the y value
            """
            return {}

        op = app.openapi()["paths"]["/d/{x}"]["get"]
        self.assertEqual(op["description"], "Does d.")
        self.assertEqual([p.get("description") for p in op["parameters"]], ["the x value", "the y value"])

    def test_bytes_body_and_unknown_types(self) -> None:
        app = App()

        @app.post("/raw")
        def raw(data: bytes = Body()) -> Opaque:  # type: ignore[valid-type]
            return Opaque()

        doc = app.openapi()
        check_openapi(doc)
        op = doc["paths"]["/raw"]["post"]
        self.assertEqual(op["requestBody"]["content"], {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}})
        self.assertEqual(op["responses"]["200"]["content"]["application/json"]["schema"], {})


class DocsRoutesTest(unittest.TestCase):
    def app(self, **kw: Any) -> App:
        app = App(title='Shop <"&">', **kw)

        @app.get("/x")
        def x():
            return {"x": 1}

        return app

    def test_docs_page_is_self_contained(self) -> None:
        c = TestClient(self.app())
        r = c.get("/docs")
        self.assertEqual((r.status_code, r.headers["content-type"]), (200, "text/html; charset=utf-8"))
        page = r.text
        self.assertIn("<title>Shop &lt;&quot;&amp;&quot;&gt; - API docs</title>", page)
        self.assertIn('data-openapi-url="/openapi.json"', page)
        # No CDN, no external file: nothing is loaded from another URL.
        self.assertIsNone(re.search(r"https?://|<script[^>]+src=|<link[^>]+href=|@import", page))
        self.assertNotIn("{{", page)
        tricky = App(title="{{openapi_url}}")
        self.assertIn("<title>{{openapi_url}} - API docs</title>", TestClient(tricky).get("/docs").text)
        self.assertEqual(c.get("/openapi.json").json()["info"]["title"], 'Shop <"&">')

    def test_urls_can_move_or_go(self) -> None:
        c = TestClient(self.app(openapi_url="/api/schema.json", docs_url="/help"))
        self.assertEqual(c.get("/api/schema.json").status_code, 200)
        self.assertIn('data-openapi-url="/api/schema.json"', c.get("/help").text)
        self.assertEqual(c.get("/docs").status_code, 404)
        c = TestClient(self.app(docs_url=None))
        self.assertEqual((c.get("/openapi.json").status_code, c.get("/docs").status_code), (200, 404))
        app = self.app(openapi_url=None)
        c = TestClient(app)
        self.assertEqual((c.get("/openapi.json").status_code, c.get("/docs").status_code), (404, 404))
        self.assertEqual(app.route_table(), [["GET", "/x", 0]])

    def test_custom_openapi_as_in_fastapi(self) -> None:
        # FastAPI's "Extending OpenAPI" recipe, with our import.
        from fasterapi.web.openapi import get_openapi

        app = self.app()

        def custom_openapi() -> dict[str, Any]:
            if app.openapi_schema:
                return app.openapi_schema
            schema = get_openapi(title="Custom title", version="2.5.0", summary="S", description="D", routes=app.routes)
            schema["info"]["x-logo"] = {"url": "/logo.png"}
            app.openapi_schema = schema
            return schema

        app.openapi = custom_openapi  # type: ignore[method-assign]
        doc = TestClient(app).get("/openapi.json").json()
        check_openapi(doc)
        self.assertEqual(doc["info"], {"title": "Custom title", "summary": "S", "description": "D", "version": "2.5.0", "x-logo": {"url": "/logo.png"}})
        self.assertEqual(list(doc["paths"]), ["/x"])
        with self.assertRaises(TypeError):
            get_openapi(title="t")

    def test_an_app_route_at_the_same_path_wins(self) -> None:
        app = self.app()

        @app.get("/docs")
        def my_docs():
            return {"mine": True}

        c = TestClient(app)
        self.assertEqual(c.get("/docs").json(), {"mine": True})
        self.assertEqual([r[1] for r in app.route_table()], ["/x", "/docs", "/openapi.json"])

    def test_404_and_405_are_fastapis(self) -> None:
        c = TestClient(self.app())
        r = c.get("/nope")
        self.assertEqual((r.status_code, r.json()), (404, {"detail": "Not Found"}))
        r = c.post("/x")
        self.assertEqual((r.status_code, r.json(), r.headers["allow"]), (405, {"detail": "Method Not Allowed"}, "GET"))


if __name__ == "__main__":
    unittest.main()
