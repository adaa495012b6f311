"""Shared plumbing of the interop drivers: JSON spec in on stdin, JSON out on stdout.

Every driver reads one JSON object from stdin and prints one JSON object on
stdout; failures become {"error": "..."} with exit code 1 so the Deno test can
show what the client said.
"""

import json
import sys
import time
import traceback


def read_spec():
    """The JSON object on stdin."""
    return json.load(sys.stdin)


def emit(result, code=0):
    """Prints `result` as JSON and exits with `code`."""
    sys.stdout.write(json.dumps(result))
    sys.stdout.write("\n")
    sys.stdout.flush()
    sys.exit(code)


def run_main(main):
    """Runs main(spec) -> dict, turning any exception into {"error"} and exit 1."""
    try:
        spec = read_spec()
        emit(main(spec))
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - the test wants whatever the client raised
        emit({"error": "%s: %s" % (type(e).__name__, e), "trace": traceback.format_exc()}, 1)


def encode(text):
    """UTF-8 bytes of `text`, None for None."""
    return None if text is None else text.encode("utf-8")


def decode(data):
    """Text of `data` (UTF-8, undecodable bytes escaped), None for None."""
    if data is None:
        return None
    if isinstance(data, str):
        return data
    return data.decode("utf-8", "backslashreplace")


def value_of(message):
    """A message's value: "value" (text or null) or {"repeat": "x", "times": N}."""
    v = message.get("value")
    if isinstance(v, dict):
        return (v["repeat"] * v["times"]).encode("utf-8")
    return encode(v)


def headers_of(message):
    """A message's headers as [(name, bytes)]."""
    return [(k, encode(v)) for k, v in message.get("headers", [])]


def deadline(seconds):
    """A monotonic deadline `seconds` from now."""
    return time.monotonic() + seconds


def summarize(value):
    """Long values are reported by length and edges, not in full."""
    if value is not None and len(value) > 256:
        return {"length": len(value), "head": value[:16], "tail": value[-16:]}
    return value
