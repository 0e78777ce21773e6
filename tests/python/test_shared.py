from __future__ import annotations

import sys
import threading
import types
import unittest
from typing import Any

from fasterapi import shared


class Fallback(unittest.TestCase):
    def setUp(self) -> None:
        shared._backend = None  # fresh in-process state for each test

    def tearDown(self) -> None:
        shared._backend = None

    def test_backend_without_host_module(self) -> None:
        self.assertIsInstance(shared.backend(), shared._LocalBackend)

    def test_counter(self) -> None:
        c = shared.Counter("hits")
        self.assertEqual(c.value, 0)
        self.assertEqual(c.add(), 1)
        self.assertEqual(c.add(5), 6)
        self.assertEqual(c.incr(), 7)
        self.assertEqual(c.decr(), 6)
        self.assertEqual(c.add(-6), 0)
        self.assertEqual(shared.Counter("hits").add(2), 2)  # same name, same state
        self.assertEqual(int(c), 2)
        self.assertEqual(shared.Counter("other").value, 0)
        with self.assertRaises(TypeError):
            c.add(1.5)  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            shared.Counter("")

    def test_counter_is_thread_safe(self) -> None:
        c = shared.Counter("threads")

        def work() -> None:
            for _ in range(1000):
                c.add()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(c.value, 4000)

    def test_set(self) -> None:
        s = shared.Set("seen")
        self.assertTrue(s.add("ada"))
        self.assertFalse(s.add("ada"))
        self.assertTrue(s.add({"b": 2, "a": 1}))
        self.assertIn({"a": 1, "b": 2}, s)  # canonical JSON: key order does not matter
        self.assertIn("ada", s)
        self.assertNotIn("bob", s)
        self.assertNotIn(object(), s)
        self.assertEqual(len(s), 2)
        self.assertEqual(list(s), ["ada", {"a": 1, "b": 2}])
        self.assertTrue(s.discard("ada"))
        self.assertFalse(s.discard("ada"))
        with self.assertRaises(KeyError):
            s.remove("ada")
        self.assertTrue(s.add([1, 2]))
        self.assertIn([1, 2], s)
        with self.assertRaises(TypeError):
            s.add(object())
        with self.assertRaises(ValueError):
            s.add(float("nan"))

    def test_map(self) -> None:
        m = shared.Map("cache")
        m["a"] = {"n": 1}
        m["b"] = [1, "x"]
        m["c"] = None
        self.assertEqual(m["a"], {"n": 1})
        self.assertIsNone(m["c"])
        self.assertIn("c", m)
        self.assertEqual(m.get("zz", "dflt"), "dflt")
        self.assertEqual(m.get(3, "dflt"), "dflt")  # type: ignore[arg-type]
        self.assertEqual(len(m), 3)
        self.assertEqual(m.keys(), ["a", "b", "c"])
        self.assertEqual(m.items(), [("a", {"n": 1}), ("b", [1, "x"]), ("c", None)])
        self.assertEqual(m.values(), [{"n": 1}, [1, "x"], None])
        self.assertEqual(list(m), ["a", "b", "c"])
        del m["c"]
        with self.assertRaises(KeyError):
            del m["c"]
        with self.assertRaises(KeyError):
            m["c"]
        with self.assertRaises(TypeError):
            m[1] = 2  # type: ignore[index]
        self.assertEqual(m.pop("b"), [1, "x"])  # MutableMapping helpers work
        m.update({"d": 4})
        self.assertEqual(dict(m.items()), {"a": {"n": 1}, "d": 4})
        self.assertEqual(shared.Map("cache")["d"], 4)

    def test_worker_id_outside_the_host_is_the_thread(self) -> None:
        self.assertEqual(shared.worker_id(), threading.get_ident())
        seen: list[int] = []
        t = threading.Thread(target=lambda: seen.append(shared.worker_id()))
        t.start()
        t.join()
        self.assertEqual(seen, [t.ident])
        self.assertNotEqual(seen[0], shared.worker_id())

    def test_encode_is_canonical(self) -> None:
        self.assertEqual(shared.encode({"b": [1, 2], "a": "é"}), '{"a":"\\u00e9","b":[1,2]}')


class HostModule(unittest.TestCase):
    def test_uses_fasterapi_module_when_present(self) -> None:
        calls: list[tuple[str, Any]] = []
        fake = types.ModuleType("_fasterapi")

        def counter_add(name: str, delta: int) -> int:
            calls.append(("add", (name, delta)))
            return 41 + delta

        def set_add(name: str, value: str) -> bool:
            calls.append(("set_add", (name, value)))
            return True

        fake.shared_counter_add = counter_add  # type: ignore[attr-defined]
        fake.shared_set_add = set_add  # type: ignore[attr-defined]
        sys.modules["_fasterapi"] = fake
        shared._backend = None
        try:
            self.assertEqual(shared.Counter("x").add(1), 42)
            self.assertTrue(shared.Set("s").add({"k": [1]}))
        finally:
            del sys.modules["_fasterapi"]
            shared._backend = None
        self.assertEqual(calls, [("add", ("x", 1)), ("set_add", ("s", '{"k":[1]}'))])

    def test_worker_id_from_the_host(self) -> None:
        fake = types.ModuleType("_fasterapi")
        answers: list[Any] = [3, None]
        fake.shared_counter_add = lambda name, delta: 0  # type: ignore[attr-defined]
        fake.worker_id = lambda: answers.pop(0)  # type: ignore[attr-defined]
        sys.modules["_fasterapi"] = fake
        shared._backend = None
        try:
            self.assertEqual(shared.worker_id(), 3)  # a pool worker: its index
            self.assertEqual(shared.worker_id(), threading.get_ident())  # not in a worker
        finally:
            del sys.modules["_fasterapi"]
            shared._backend = None


if __name__ == "__main__":
    unittest.main()
