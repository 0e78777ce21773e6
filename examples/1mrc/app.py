"""The One Million Request Challenge (1MRC) as a FastAPI-style app.

    fasterapi run examples/1mrc/app.py --http 127.0.0.1:8080 --workers 2
    python3 examples/1mrc/load.py --port 8080 -n 1000000      # sends, then checks /stats

POST /event takes {"userId": str, "value": number}; GET /stats answers {"totalRequests",
"uniqueUsers", "sum", "avg"} over every event taken so far, and "workers": how many events each
worker took. After a million events the totals must be exact.

Why the state is in `fasterapi.shared`: each worker runs its own interpreter with its own copy of
this module, so a module global would count per worker. The shared objects live in C memory,
once for the server, and each call on them is atomic:

* `requests` (Counter): one atomic add per event, so totalRequests is exact.
* `users` (Set): every userId once; its size is uniqueUsers.
* `per_worker` (Map): worker id -> [events, sum of values] of the events that worker took. Each
  entry has one writer, its worker, and a plain `def` handler runs to its end before its worker
  starts the next one: the worker keeps its running totals in thread-local memory (a worker is
  a thread) and publishes them with one atomic set per event; no read-modify-write of shared
  state. /stats adds the workers' sums; with values that are multiples of 0.5 (what load.py
  sends) every partial sum is exact, in any order.

The same file runs under FastAPI + uvicorn with the import line swapped
(`from fastapi import FastAPI as App, HTTPException`; bench/http/onemrc.py does): `shared` then
uses its in-process implementation, and `shared.worker_id()` the thread's id (FastAPI runs a
plain `def` handler on a thread pool: one entry per pool thread).
"""

import math
import threading
from dataclasses import dataclass

from fasterapi import App, HTTPException
from fasterapi import shared

app = App()

requests = shared.Counter("1mrc:requests")
users = shared.Set("1mrc:users")
per_worker = shared.Map("1mrc:workers")

# The running [events, sum] of the worker thread that runs the handler.
_local = threading.local()


@dataclass
class Event:
    userId: str
    value: float


@app.post("/event")
def event(ev: Event):
    # JSON lets Python parse NaN and Infinity; one of them would poison the sum for good.
    if not math.isfinite(ev.value):
        raise HTTPException(status_code=422, detail="value must be a finite number")
    requests.add(1)
    users.add(ev.userId)
    mine = getattr(_local, "totals", None)
    if mine is None:
        mine = _local.totals = [0, 0.0]
        _local.key = str(shared.worker_id())
    mine[0] += 1
    mine[1] += ev.value
    per_worker[_local.key] = mine
    return {"ok": True}


@app.get("/stats")
def stats():
    workers = dict(per_worker.items())
    total = requests.value
    value_sum = math.fsum(w[1] for w in workers.values())
    return {
        "totalRequests": total,
        "uniqueUsers": len(users),
        "sum": value_sum,
        "avg": value_sum / total if total else 0.0,
        "workers": {k: w[0] for k, w in workers.items()},
    }
