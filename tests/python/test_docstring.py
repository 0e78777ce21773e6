from __future__ import annotations

import unittest

from fasterapi.docstring import humanize, parse_docstring


class GoogleStyle(unittest.TestCase):
    def test_args_section_is_parsed_and_removed(self) -> None:
        doc = """Fetch the weather.

        Longer explanation
        over two lines.

        Args:
            city (str): The city name.
            days: How many days,
                at most 7.

        Returns:
            A forecast.
        """
        desc, params = parse_docstring(doc)
        self.assertEqual(desc, "Fetch the weather.\n\nLonger explanation\nover two lines.\n\nReturns:\n    A forecast.")
        self.assertEqual(params, {"city": "The city name.", "days": "How many days, at most 7."})

    def test_other_section_names(self) -> None:
        for header in ("Arguments:", "Parameters:", "Params:", "Keyword Args:"):
            _, params = parse_docstring(f"Summary.\n\n{header}\n    x: the x\n")
            self.assertEqual(params, {"x": "the x"}, header)

    def test_kwargs_entry(self) -> None:
        _, params = parse_docstring("S.\n\nArgs:\n    **extra: more things\n")
        self.assertEqual(params, {"extra": "more things"})


class NumpyStyle(unittest.TestCase):
    def test_parameters_section(self) -> None:
        doc = """Add numbers.

        Parameters
        ----------
        a : int
            First number.
        b : int
            Second number,
            continued.

        Returns
        -------
        int
        """
        desc, params = parse_docstring(doc)
        self.assertEqual(params, {"a": "First number.", "b": "Second number, continued."})
        self.assertEqual(desc, "Add numbers.\n\nReturns\n-------\nint")


class RestStyle(unittest.TestCase):
    def test_param_and_type_fields(self) -> None:
        doc = """Greet someone.

        :param name: who to greet
            (full name).
        :param int times: how often
        :type name: str
        :returns: the greeting
        """
        desc, params = parse_docstring(doc)
        self.assertEqual(params, {"name": "who to greet (full name).", "times": "how often"})
        self.assertEqual(desc, "Greet someone.\n\n:returns: the greeting")


class Edges(unittest.TestCase):
    def test_empty(self) -> None:
        self.assertEqual(parse_docstring(None), ("", {}))
        self.assertEqual(parse_docstring("   "), ("", {}))

    def test_summary_only(self) -> None:
        self.assertEqual(parse_docstring("  Just this.  "), ("Just this.", {}))

    def test_humanize(self) -> None:
        self.assertEqual(humanize("get_weather"), "Get weather")
        self.assertEqual(humanize("getWeatherNow"), "Get weather now")
        self.assertEqual(humanize("test-simple"), "Test simple")


if __name__ == "__main__":
    unittest.main()
