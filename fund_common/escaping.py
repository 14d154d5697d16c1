"""Untrusted text made harmless where it is written: logs, history rows, terminals.

A string from outside (a file name, a fund code, a job's output, an exception's message) may
hold a line break that forges a log line, or an escape sequence that repaints a terminal.
Every control character (C0, DEL, C1) and every Unicode line or paragraph separator is
therefore shown by its escape: ``\\n``, ``\\r``, ``\\t``, else ``\\x1b`` / ``\\u2028``, as the
two or more visible characters, never the character itself::

    >>> one_line("bad\\n2026-01-01 00:00:00,000 INFO fake.csv")
    'bad\\\\n2026-01-01 00:00:00,000 INFO fake.csv'
    >>> printable("ok\\r\\n\\x1b[31mred\\n")
    'ok\\n\\\\x1b[31mred\\n'

:func:`one_line` is for one event (a log message, a stored reason): nothing in it breaks the
line. :func:`printable` is for text that is multi-line by nature (a job's output): it keeps
``\\n`` and ``\\t``, reads ``\\r\\n`` as ``\\n`` and escapes the rest. :func:`traceback_text`
keeps a traceback's own lines and puts each exception's message on one line. A backslash is left
as it is: it cannot break a line or steer a terminal.
"""

from __future__ import annotations

import re
import traceback

__all__ = ["control_characters", "one_line", "printable", "traceback_text"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """``text`` with every control character shown by its escape: one line, nothing steered."""
    return _CONTROL.sub(_escape, text)


def printable(text: str) -> str:
    """``text`` keeping its lines and tabs (``\\r\\n`` read as ``\\n``), every other control
    character shown by its escape."""
    return _CONTROL_BUT_LINES.sub(_escape, text.replace("\r\n", "\n"))


def control_characters(text: str) -> list[str]:
    """The control characters of ``text`` (as :func:`one_line` would escape them), in order."""
    return [_escape(m) for m in _CONTROL.finditer(text)]


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def traceback_text(exc: BaseException) -> str:
    """The traceback of ``exc`` (and of its cause or context) as Python prints it, except that
    each exception's message and each note is one line (:func:`one_line`): the frames are the
    program's own, the message may carry anything. No trailing newline."""
    return "".join(_traceback_lines(traceback.TracebackException.from_exception(exc))).rstrip("\n")


def _traceback_lines(te: traceback.TracebackException) -> list[str]:
    lines: list[str] = []
    if te.__cause__ is not None:
        lines += _traceback_lines(te.__cause__) + [_CAUSE]
    elif te.__context__ is not None and not te.__suppress_context__:
        lines += _traceback_lines(te.__context__) + [_CONTEXT]
    if te.stack:
        lines.append("Traceback (most recent call last):\n")
        lines += te.stack.format()
    lines += [one_line(part.rstrip("\n")) + "\n" for part in te.format_exception_only()]
    return lines
