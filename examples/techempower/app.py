"""TechEmpower Framework Benchmarks' /plaintext and /json, as a Python web app.

    fasterapi run examples/techempower/app.py --http 127.0.0.1:8080 --workers 2

Per the TFB rules (https://github.com/TechEmpower/FrameworkBenchmarks/wiki/Project-Information-Framework-Tests-Overview):
/json serialises a new {"message": "Hello, World!"} object per request (no cached bytes), and
/plaintext answers "Hello, World!" as text/plain. The same code runs under FastAPI by changing
the import line to `from fastapi import FastAPI as App` (bench/http/python_web.py does).
"""

from fasterapi import App, PlainTextResponse

app = App()


@app.get("/plaintext", response_class=PlainTextResponse)
def plaintext():
    return "Hello, World!"


@app.get("/json")
def json():
    return {"message": "Hello, World!"}
