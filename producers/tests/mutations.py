"""Hypothesis strategies that mutate real recorded frames the way a broken or hostile venue might: any field
replaced by any Unicode text (escapes, control characters, lone surrogates), empty or huge strings, numbers
huge, negative, zero or in exponent form, NaN and Infinity, wrong types, deep nesting; keys duplicated, missing,
renamed or added; and the text itself truncated or spliced.

A frame is decoded into a tree that keeps what re-encoding must not change: objects as lists of pairs (so a key
can be duplicated) and numbers as their exact text (Kraken's ``0.00514500`` stays ``0.00514500``)."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Examples per generated test; TICKSTREAM_FUZZ_EXAMPLES raises it for a longer hunt (same seed, more cases).
EXAMPLES = int(os.environ.get("TICKSTREAM_FUZZ_EXAMPLES", "4000"))

GENERATED = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)


class Obj(list):
    """A JSON object as its (key, value) pairs, in order, duplicates allowed."""


class Raw:
    """JSON text written as it is: a number's exact text, or any fragment (deep nesting, NaN). Not a str
    subclass: Hypothesis would take a drawn str subclass for one of its own string choices when it replays."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = str(text)

    def __str__(self):
        return self.text

    def __repr__(self):
        return f"Raw({self.text[:60]!r})"


def decode(text: str):
    return json.loads(text, object_pairs_hook=Obj, parse_float=Raw, parse_int=Raw, parse_constant=Raw)


def encode(node, ascii_only: bool = True) -> str:
    if isinstance(node, Raw):
        return node.text
    if isinstance(node, Obj):
        return "{" + ",".join(encode(str(k), ascii_only) + ":" + encode(v, ascii_only) for k, v in node) + "}"
    if isinstance(node, list):
        return "[" + ",".join(encode(v, ascii_only) for v in node) + "]"
    if isinstance(node, str):
        return json.dumps(node, ensure_ascii=ascii_only)
    if isinstance(node, float):
        return json.dumps(node)  # NaN, Infinity as Python writes them
    return json.dumps(node)  # int, bool, None


def slots(node, out=None):
    """Every place in the tree that holds a value: (container, index)."""
    out = [] if out is None else out
    if isinstance(node, Obj):
        for i, (_, v) in enumerate(node):
            out.append((node, i))
            slots(v, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((node, i))
            slots(v, out)
    return out


def _get(container, i):
    return container[i][1] if isinstance(container, Obj) else container[i]


def _set(container, i, value):
    if isinstance(container, Obj):
        container[i] = (container[i][0], value)
    else:
        container[i] = value


# ---------------------------------------------------------------- values
_HUGE = ["x" * 100_000, "9" * 5_000, "1" * 41, "1" * 40, "0." + "0" * 37 + "1", "7" * 65, "7" * 64]
_TIMES = [
    "2024-11-25T01:20:00.1Z",
    "2024-13-25T01:20:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999Z",
    "2024-11-25T01:20:00.\uff11Z",
    "1970-01-01T00:00:00Z",
    "2008-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
    "2024-11-25T01:20:00+00:00",
    "2024-11-25 01:20:00Z",
    "2024-11-25T01:20:00.Z",
    "2024-11-25T01:20:00.\u00b2Z",
    "\uff12\uff10\uff12\uff14-11-25T01:20:00Z",
    "2024-02-30T00:00:00Z",
    "2024-11-25T25:61:61Z",
    "Z",
    "",
]
_TEXTS = [
    "",
    " ",
    "\\",
    "x\\",
    "\\N",
    "\\t",
    '"',
    "'",
    "\x00",
    "\n",
    "\r\n",
    "\t",
    "\x7f",
    "\u2028",
    "\ufeff",
    "\ud800",
    "\udfff",
    "\U0001f600",
    "BTC-USD",
    "btc/usd",
    "XBT/USD",
    "BTCUSDT",
    "BTC",
    "-",
    "/",
    "A-B-C",
    "BTC-USD\n",
    " BTC-USD",
    "bTc-uſd",
    "\u0130-USD",
    "A" * 20 + "-" + "B" * 20,
    "A" * 15 + "-" + "B" * 16,
    "\u0661\u0662\u0663",
    "\u00b2",
    "\uff11\uff12\uff13",
    "0",
    "00",
    "0.0",
    "0.",
    ".5",
    "1.",
    "1..2",
    "+1",
    "-1",
    "1e5",
    "1E-4",
    "NaN",
    "Infinity",
    "-0",
    "1_000",
    " 1",
    "1 ",
    "buy",
    "sell",
    "BUY",
    "SELL",
    "unknown",
    "Buy",
    "match",
    "last_match",
    "snapshot",
    "update",
    "trade",
    "market_trades",
    "serverShutdown",
    "heartbeat",
    "subscriptions",
    "error",
    "{}",
    "[]",
    "null",
    "true",
] + _TIMES
_NUMBERS = [
    "0",
    "-0",
    "1",
    "-1",
    "0.0",
    "1e5",
    "1E-4",
    "1.0E-4",
    "-1E-4",
    "1e-45",
    "1e45",
    "1e999999999",
    "-1e-999999999",
    "1e400",
    "NaN",
    "Infinity",
    "-Infinity",
    "123456789012345678901234567890",
    "0.00000000",
    "1.5e+2",
    "9" * 4400,
    "1" + "0" * 5000,
    "1." + "0" * 100 + "1",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "1230940799999",
    "1230940800000",
    "4102444800000",
    "1732497600098",
    "1732497600098.5",
    "1.7324976e12",
]

any_text = st.text(st.characters(exclude_categories=()), max_size=40)  # lone surrogates and controls included
ascii_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=70)


def _nesting(depth: int) -> Raw:
    return Raw("[" * depth + "]" * depth)


strings = st.one_of(
    st.sampled_from(_TEXTS), any_text, ascii_text, st.sampled_from(_HUGE), st.integers(0, 2**70).map(str)
)
numbers = st.one_of(
    st.sampled_from(_NUMBERS).map(Raw),
    st.integers(-(2**70), 2**70).map(lambda n: Raw(str(n))),
    st.floats().map(lambda f: Raw(json.dumps(f))),
    st.integers(-(10**12), 10**12).map(lambda d: Raw(str(1732497600000 + d))),
)
_SHAPES = [
    lambda a, b: [],
    lambda a, b: Obj(),
    lambda a, b: [a],
    lambda a, b: [a, b],
    lambda a, b: Obj([("a", a)]),
    lambda a, b: Obj([(str(b), a), ("x", [a, Obj([("y", b)])])]),
]
containers = st.tuples(st.sampled_from(_SHAPES), st.one_of(strings, numbers), st.one_of(strings, numbers)).map(
    lambda t: t[0](t[1], t[2])
)
values = st.one_of(
    strings, numbers, st.booleans(), st.none(), containers, st.integers(1, 3000).map(_nesting)
)  # deep nesting, past any recursion limit
index = st.integers(0, 2**16)  # taken modulo the number of choices


def _int_text(text: str) -> bool:
    # one leading '-' at most: "--2" (a mutation of "-2") is text, and int() refuses it
    return len(text) < 30 and text.removeprefix("-").isdigit() and text.isascii()


# A value near the original: (original text, draw) -> the new value; draws only what it uses.
def _at(t, draw):
    return draw(index) % (len(t) + 1)


_NEAR_NUMBER = [
    lambda t, d: Raw("-" + t),
    lambda t, d: Raw(t + "0"),
    lambda t, d: Raw(t + "e3"),
    lambda t, d: Raw(t + "E-4"),
    lambda t, d: Raw(t + "e999999999"),
    lambda t, d: Raw(t * 3),
    lambda t, d: str(t),
    lambda t, d: Raw("0"),
    lambda t, d: Raw(t.split(".")[0] + ".5"),
    lambda t, d: d(numbers),
    lambda t, d: d(strings),
    lambda t, d: Raw(str(int(t) + d(index) - 2**15)) if _int_text(t) else d(numbers),  # close to it
    lambda t, d: Raw(str(int(t) + (d(index) - 2**15) * 997)) if _int_text(t) else d(numbers),  # further off
]
_NEAR_STRING = [
    lambda t, d: (lambda i: t[:i] + d(strings) + t[i:])(_at(t, d)),  # something inserted
    lambda t, d: t[: _at(t, d)] + d(any_text),  # a new ending
    lambda t, d: t.lower(),
    lambda t, d: t.upper(),
    lambda t, d: t * 3,
    lambda t, d: t + "\\",
    lambda t, d: " " + t,
    lambda t, d: t + "\n",
    lambda t, d: "-" + t,
    lambda t, d: Raw(t) if _int_text(t) else t,
    lambda t, d: t.replace("-", "/"),
    lambda t, d: t.replace("Z", "+00:00"),
    lambda t, d: t[::-1],
    lambda t, d: d(strings),
    lambda t, d: d(numbers),
    lambda t, d: (lambda i: t[:i] + chr(0x660 + i % 10) + t[i + 1 :])(_at(t, d)),  # an Arabic-Indic digit
]


def near(draw, original):
    """The same field a little or very wrong, of the same type or not."""
    if isinstance(original, Raw):
        return _NEAR_NUMBER[draw(index) % len(_NEAR_NUMBER)](str(original), draw)
    if isinstance(original, str) and original:
        return _NEAR_STRING[draw(index) % len(_NEAR_STRING)](original, draw)
    return draw(values)


# ---------------------------------------------------------------- mutations
_OPS = ["replace"] * 6 + ["any", "delete", "duplicate", "add", "rename", "wrap"]


def mutate_tree(draw, tree):
    """1 to 4 structural mutations of a decoded frame, in place (``draw``: the running test's)."""
    for _ in range(1 + draw(index) % 4):
        places = slots(tree)
        op = _OPS[draw(index) % len(_OPS)] if places else "add"
        if op == "add":
            objects = [tree] if isinstance(tree, Obj) else []
            objects += [_get(c, i) for c, i in places if isinstance(_get(c, i), Obj)]
            if objects:
                target = objects[draw(index) % len(objects)]
                key = target[draw(index) % len(target)][0] if target and draw(index) % 2 else draw(strings)
                target.insert(draw(index) % (len(target) + 1), (key, draw(values)))
            continue
        container, i = places[draw(index) % len(places)]
        if op == "replace":
            _set(container, i, near(draw, _get(container, i)))
        elif op == "any":
            _set(container, i, draw(values))
        elif op == "delete":
            del container[i]
        elif op == "duplicate":
            twin = (container[i][0], near(draw, container[i][1])) if isinstance(container, Obj) else draw(values)
            container.insert(i + draw(index) % 2, twin)
        elif op == "rename" and isinstance(container, Obj):
            container[i] = (draw(strings), container[i][1])
        elif op == "wrap":
            v = _get(container, i)
            _set(container, i, [[v], Obj([("value", v)]), [v, v]][draw(index) % 3])
    return tree


_SPLICES = ['"', "\\", "{", "}", "[", "]", ",", ":", "\\u", "\\ud800", "\x00", "\ufffd"]
splices = st.one_of(any_text, st.sampled_from(_SPLICES))


def mutate_text(draw, text: str):
    """Truncation or a splice of the encoded text (insert, delete or replace a stretch)."""
    op = draw(index) % 4
    at = draw(index) % (len(text) + 1)
    if op == 0:
        return text[:at]
    if op == 1:
        return text[:at] + draw(splices) + text[at:]
    end = min(len(text), at + 1 + draw(index) % 8)
    if op == 2:
        return text[:at] + text[end:]
    return text[:at] + draw(any_text) + text[end:]


@st.composite
def mutated_frames(draw, frames: list[str]):
    """A real frame, mutated: mostly in its structure, sometimes in its text, sometimes both."""
    return mutate_frame(draw, frames)


def mutate_frame(draw, frames: list[str]) -> str:
    text = frames[draw(index) % len(frames)]
    try:
        tree = decode(text)
    except ValueError:
        tree = None  # a recorded malformed frame: only its text is mutated
    how = draw(index) % 10
    if tree is not None and how < 8:
        text = encode(mutate_tree(draw, tree), ascii_only=how % 2 == 0)
    if tree is None or how >= 6:
        text = mutate_text(draw, text)
    return text


# ---------------------------------------------------------------- recording lines (docs/contracts.md#recordings)
_EXCHANGES = ["binance", "coinbase", "kraken", "bitstamp", "", "BINANCE", "kraken\n", "synthetic"]


@st.composite
def recording_lines(draw, frames_by_exchange: dict[str, list[str]]) -> bytes:
    """One line of a recording file: a real frame in a mutated envelope, or bytes that are no line at all."""
    how = draw(index) % 10
    if how == 0:
        return draw(st.binary(max_size=120)).replace(b"\n", b" ")  # not UTF-8, not JSON
    exchange = _EXCHANGES[draw(index) % len(_EXCHANGES)]
    frames = frames_by_exchange.get(exchange) or frames_by_exchange["kraken"]
    raw = mutate_frame(draw, frames) if how < 6 else frames[draw(index) % len(frames)]
    envelope = Obj([("exchange", exchange), ("recv_ts", Raw("1732497600100")), ("raw", raw)])
    if how >= 4:
        envelope = mutate_tree(draw, envelope)
    line = encode(envelope, ascii_only=how % 2 == 0)
    if how == 9:
        line = mutate_text(draw, line)
    return line.encode("utf-8", "surrogatepass").replace(b"\n", b"\\n")  # one line: a raw newline would split it
