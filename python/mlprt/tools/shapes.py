"""Shape flags of ``mlprt compare`` and ``mlprt exec``: trtexec's and Polygraphy's syntax.

Both forms name an input, a colon, then its dimensions:

* trtexec: ``input:7x784`` (dimensions joined by ``x``; ``name:`` is a scalar), several inputs
  joined by commas: ``image:4x784,meta:4x16``;
* Polygraphy: ``input:[7,784]`` (dimensions in brackets, separated by commas; ``name:[]`` is a
  scalar), several inputs as separate arguments (``--input-shapes image:[4,784] meta:[4,16]``)
  or joined by commas (``image:[4,784],meta:[4,16]``).

The forms can be mixed. A name may itself hold colons (the dimensions follow the last one) and
may be quoted. Anything else is refused with a ``ValueError`` that names the flag and the text.
"""
from __future__ import annotations

import re
from typing import Dict, Iterable, List, Tuple, Union

Shape = Tuple[int, ...]

__all__ = ["parse_shape_flag", "split_entries"]

_BRACKETS = re.compile(r"^(?P<name>.*):\s*\[(?P<dims>[^\[\]]*)\]$")
_FORMS = "Polygraphy's NAME:[7,784] or trtexec's NAME:7x784"


def split_entries(text: str) -> List[str]:
    """``text`` cut at commas and spaces outside brackets: ``"a:[1,2],b:3x4 c:[5]"`` ->
    ``["a:[1,2]", "b:3x4", "c:[5]"]``. Spaces inside brackets stay with their entry."""
    entries: List[str] = []
    current: List[str] = []
    depth = 0
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if depth <= 0 and char in ", \t\n":
            entries.append("".join(current))
            current = []
            depth = max(depth, 0)
            continue
        current.append(char)
    entries.append("".join(current))
    return [entry for entry in (e.strip() for e in entries) if entry]


def _dimensions(flag: str, entry: str, dims: List[str], form: str) -> Shape:
    values = []
    for dim in dims:
        dim = dim.strip()
        try:
            value = int(dim)
        except ValueError:
            raise ValueError(f"{flag} '{entry}': dimension '{dim}' is not an integer ({form}; "
                             f"write {_FORMS})") from None
        if value < 0:
            raise ValueError(f"{flag} '{entry}': dimensions cannot be negative ({value})")
        values.append(value)
    return tuple(values)


def _parse_entry(flag: str, entry: str) -> Tuple[str, Shape]:
    if entry.count("[") != entry.count("]"):
        raise ValueError(f"{flag} '{entry}': unbalanced brackets (write {_FORMS})")
    match = _BRACKETS.match(entry)
    if match is not None:
        name, inside = match.group("name"), match.group("dims").strip()
        shape = _dimensions(flag, entry, inside.split(",") if inside else [],
                            "inside brackets, dimensions are separated by commas")
    else:
        if "[" in entry or "]" in entry:
            raise ValueError(f"{flag} '{entry}': brackets must hold the whole shape after the "
                             f"last colon (write {_FORMS})")
        name, sep, dims = entry.rpartition(":")
        if not sep:
            raise ValueError(f"{flag} '{entry}': not NAME:SHAPE (write {_FORMS})")
        shape = _dimensions(flag, entry, dims.split("x") if dims.strip() else [],
                            "without brackets, dimensions are joined by 'x'")
    name = name.strip().strip("'\"")
    if not name:
        raise ValueError(f"{flag} '{entry}': the input name is missing (write {_FORMS})")
    return name, shape


def parse_shape_flag(values: Union[str, Iterable[str], None], flag: str) -> Dict[str, Shape]:
    """The shapes one flag gave: ``values`` is its text or the list of its arguments (a flag
    given several times, or Polygraphy's space-separated inputs). An input named twice is
    refused."""
    if values is None:
        return {}
    texts = [values] if isinstance(values, str) else list(values)
    shapes: Dict[str, Shape] = {}
    for text in texts:
        entries = split_entries(text)
        if not entries:
            raise ValueError(f"{flag} '{text}': no shape given (write {_FORMS})")
        for entry in entries:
            try:
                name, shape = _parse_entry(flag, entry)
                if name in shapes:
                    raise ValueError(f"{flag} '{entry}': input '{name}' is given twice")
            except ValueError as error:
                if entry == text.strip():
                    raise
                raise ValueError(f"{error} (in '{text}')") from None
            shapes[name] = shape
    return shapes
