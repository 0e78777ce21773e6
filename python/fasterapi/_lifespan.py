"""A lifespan held open on a worker's loop: FastMCP(lifespan=...) and App(lifespan=...) share it.

`factory(owner)` returns an async or a plain context manager. It is entered and left in ONE task
(anyio's cancel scopes require it), which waits between the two for `leave()`. asyncio is imported
only here, when a lifespan exists: the cold start of an app without one does not pay for it.
"""

from __future__ import annotations

from typing import Any, Callable


class HeldLifespan:
    def __init__(self, factory: Callable[[Any], Any], owner: Any) -> None:
        self.factory = factory
        self.owner = owner
        self.task: Any = None
        self._stop: Any = None

    def enter(self, loop: Any) -> Any:
        """Runs the lifespan up to its yield on `loop`; returns what it yielded. Raises what the
        lifespan raised, or RuntimeError when it returned without yielding (the task is then
        gone)."""
        import asyncio

        started = loop.create_future()
        self._stop = asyncio.Event()

        async def hold() -> None:
            manager = self.factory(self.owner)
            if hasattr(manager, "__aenter__"):
                async with manager as state:
                    started.set_result(state)
                    await self._stop.wait()
            else:
                with manager as state:
                    started.set_result(state)
                    await self._stop.wait()

        self.task = loop.create_task(hold())
        loop.run_until_complete(asyncio.wait([started, self.task], return_when=asyncio.FIRST_COMPLETED))
        if not started.done():
            task, self.task = self.task, None
            task.result()  # the lifespan's own exception, if it raised
            raise RuntimeError("the lifespan returned without yielding")
        return started.result()

    def leave(self, loop: Any) -> None:
        """Runs the lifespan's teardown (after its yield) to the end; raises what it raised."""
        task, self.task = self.task, None
        if task is None or task.done():
            return
        self._stop.set()
        loop.run_until_complete(task)
