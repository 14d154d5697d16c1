"""``--help`` in the language in effect: a command's help, short help, epilog and its options' help
are English literals click reads at import, before the language is known, so they are translated
when the help is shown (:class:`TranslatedHelp`), with click's own words ("Usage:", "Options",
"Show this message and exit.", "default: ...") too.

In English the help is click's own, byte for byte. In another language each text goes through
:func:`fund_common.i18n.gettext` by its English text as click shows it (:func:`help_texts`: the
docstring through ``inspect.cleandoc``, cut at ``\\f``; what ``scripts/i18n.py`` puts in the
catalogue), the short help is the translation's first sentence, and the text is wrapped by terminal
columns (a Chinese character takes two; no line starts with ``，`` or ``。``), paragraphs and ``\\b``
blocks kept as click keeps them.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterable, Iterator

import click

from fund_common import i18n
from fund_common.i18n import gettext as _
from fund_common.texttable import one_line, width

__all__ = ["TranslatedHelp", "help_texts", "translated", "wrap"]

#: Characters a line never starts with (they stay with the text before them), and those it never
#: ends with (they go with the text after them).
_NO_BREAK_BEFORE = frozenset("，。、；：！？）》」』”’…,.;:!?)]}")
_NO_BREAK_AFTER = frozenset("（《「『“‘([{")
_SENTENCE_END = "。！？"


def _english() -> bool:
    return i18n.current() == i18n.DEFAULT_LANGUAGE


def _help(command: click.Command) -> str:
    """The command's help as click shows it (cleaned, cut at ``\\f``)."""
    return inspect.cleandoc(command.help).partition("\f")[0] if command.help else ""


class TranslatedHelp(click.Command):
    """A command whose help is translated when shown (mixed into a click Command or Group class:
    :func:`translated` makes a command one)."""

    def get_help(self, ctx: click.Context) -> str:
        if _english():
            return super().get_help(ctx)
        formatter = ColumnsHelpFormatter(width=ctx.terminal_width, max_width=ctx.max_content_width)
        self.format_help(ctx, formatter)
        return formatter.getvalue().rstrip("\n")

    def get_short_help_str(self, limit: int = 45) -> str:
        if _english():
            return super().get_short_help_str(limit)
        if self.short_help:
            return one_line(_(inspect.cleandoc(self.short_help)), limit)
        text = _(_help(self)) if self.help else ""
        first = text.partition("\n\n")[0].replace("\b", " ")
        ends = [i for i in (first.find(c) for c in _SENTENCE_END) if i >= 0]
        return one_line(first[: min(ends) + 1] if ends else first, limit)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if _english():
            return super().format_usage(ctx, formatter)
        prefix = _("Usage:")
        prefix += "" if prefix.endswith("：") else " "
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix)

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if _english() or not self.help:
            return super().format_help_text(ctx, formatter)
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(_(_help(self)))

    def format_arguments(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if _english():
            return super().format_arguments(ctx, formatter)
        arguments = [p for p in self.get_params(ctx) if isinstance(p, click.Argument)]
        if any(argument.help is not None for argument in arguments):
            with formatter.section(_("Positional arguments")):
                formatter.write_dl([(a.make_metavar(ctx), _(a.help) if a.help else "") for a in arguments])

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if _english():
            return super().format_options(ctx, formatter)
        rows = [
            row
            for param in self.get_params(ctx)
            if isinstance(param, click.Option) and (row := _option_row(param, ctx)) is not None
        ]
        if rows:
            with formatter.section(_("Options")):
                formatter.write_dl(rows)
        if isinstance(self, click.Group):
            self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """A group's commands and their short help (called for a group only)."""
        assert isinstance(self, click.Group)
        if _english():
            return super().format_commands(ctx, formatter)  # type: ignore[misc]
        commands = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                commands.append((name, command))
        if commands:
            limit = formatter.width - 6 - max(width(name) for name, _command in commands)
            with formatter.section(_("Commands")):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in commands])

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if _english() or not self.epilog:
            return super().format_epilog(ctx, formatter)
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(_(inspect.cleandoc(self.epilog)))


def _option_row(option: click.Option, ctx: click.Context) -> tuple[str, str] | None:
    """The option's help row in the language in effect (its names, its help and the ``[default:
    ...]`` click adds)."""
    if option.hidden:
        return None
    text = _(option.help) if option.help else ""
    if not hasattr(option, "get_help_extra"):  # click < 8.2: its own words stay English
        translated_option = copy.copy(option)
        translated_option.help = text
        return translated_option.get_help_record(ctx)
    extra = option.get_help_extra(ctx)
    items = []
    if "envvars" in extra:
        items.append(_("env var: {var}").format(var=", ".join(extra["envvars"])))
    if "default" in extra:
        items.append(_("default: {default}").format(default=extra["default"]))
    if "range" in extra:
        items.append(extra["range"])
    if "required" in extra:
        items.append(_("required"))
    if items:
        joined = "; ".join(items)
        text = f"{text}  [{joined}]" if text else f"[{joined}]"
    return option.get_help_spec(ctx), text


_CLASSES: dict[type[click.Command], type[click.Command]] = {}


def translated(command: click.Command) -> click.Command:
    """``command`` (and a group's subcommands) made :class:`TranslatedHelp` in place: its class
    becomes a subclass of its own that translates the help when shown, nothing else changes."""
    if not isinstance(command, TranslatedHelp):
        cls = type(command)
        if cls not in _CLASSES:
            _CLASSES[cls] = type(f"Translated{cls.__name__}", (TranslatedHelp, cls), {})
        command.__class__ = _CLASSES[cls]
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            translated(subcommand)
    return command


def help_texts(command: click.Command, ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
    """Every English text of ``command``'s help and, for a group, of each subcommand's (hidden ones
    too), with the command it is of: help as click shows it, short help, epilog, each option's help
    (the ``--help`` option's included)."""
    texts = [
        _help(command),
        inspect.cleandoc(command.short_help or ""),
        inspect.cleandoc(command.epilog or ""),
    ]
    texts += [param.help or "" for param in command.get_params(ctx) if isinstance(param, click.Option)]
    for text in texts:
        if text:
            yield text, command
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            subcommand = command.get_command(ctx, name)
            if subcommand is not None:
                yield from help_texts(subcommand, click.Context(subcommand, info_name=name, parent=ctx))


class ColumnsHelpFormatter(click.HelpFormatter):
    """click's help layout, wrapped by terminal columns (see :func:`wrap`); a heading ends with the
    language's colon."""

    def write_heading(self, heading: str) -> None:
        heading = _("{heading}:").format(heading=heading)
        self.write(f"{'':>{self.current_indent}}{heading}\n")

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        prefix = "Usage: " if prefix is None else prefix
        first = f"{prefix:>{self.current_indent}}{prog} "
        if not args:
            self.write(first.rstrip(" ") + "\n")
        elif self.width - self.current_indent >= width(first) + 20:
            self.write(wrap(args, self.width - self.current_indent, first, " " * width(first)) + "\n")
        else:
            indent = " " * (max(self.current_indent, width(prefix)) + 4)
            self.write(first + "\n" + wrap(args, self.width - self.current_indent, indent, indent) + "\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        self.write(wrap(text, self.width, indent, indent, paragraphs=True) + "\n")

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first_col = min(max((width(term) for term, _text in rows), default=0), col_max) + col_spacing
        for term, text in rows:
            self.write(f"{'':>{self.current_indent}}{term}")
            if not text:
                self.write("\n")
                continue
            if width(term) <= first_col - col_spacing:
                self.write(" " * (first_col - width(term)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = wrap(text, max(self.width - first_col - 2, 10), paragraphs=True).splitlines() or [""]
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n" if line else "\n")


def wrap(text: str, columns: int, first: str = "", rest: str = "", paragraphs: bool = False) -> str:
    """``text`` filled to ``columns`` terminal columns, ``first`` before its first line and ``rest``
    before the others; with ``paragraphs`` as click does it: blank lines part paragraphs, each
    refilled (its lines joined with a space) and indented as its first line is, except a paragraph
    whose first line is ``\\b``, kept line for line."""
    if not paragraphs:
        return _fill(_chunks(text), columns, first, rest)
    blocks: list[tuple[int, bool, list[str]]] = []
    for block in _paragraphs(text.expandtabs()):
        stripped = block[0].lstrip()
        indent = width(block[0]) - width(stripped)
        block[0] = stripped
        raw = block[0].strip() == "\b"
        blocks.append((indent, raw, block[1:] if raw else block))
    out = []
    for indent, raw, lines in blocks:
        pad = " " * indent
        if raw:
            out.append("\n".join((first if i == 0 else rest) + pad + line for i, line in enumerate(lines)))
        else:
            out.append(_fill(_chunks(" ".join(lines)), columns, first + pad, rest + pad))
    return "\n\n".join(out)


def _paragraphs(text: str) -> Iterator[list[str]]:
    block: list[str] = []
    for line in text.splitlines():
        if line:
            block.append(line)
        elif block:
            yield block
            block = []
    if block:
        yield block


def _chunks(text: str) -> list[str]:
    """``text`` cut where a line may break: at white space (kept as its own chunk), around each
    wide character, never before closing or after opening punctuation."""
    chunks: list[str] = []
    glue = False  # the next character joins the chunk before it
    for char in text:
        space = char.isspace()
        wide = width(char) > 1
        last = chunks[-1] if chunks else ""
        if last and (glue or (char in _NO_BREAK_BEFORE and not last[-1].isspace())):
            chunks[-1] += char
        elif last and not space and not wide and not last[-1].isspace() and width(last[-1]) == 1:
            chunks[-1] += char  # a word of narrow characters
        elif last and space and last[-1].isspace():
            chunks[-1] += char
        else:
            chunks.append(char)
        glue = char in _NO_BREAK_AFTER
    return chunks


def _fill(chunks: Iterable[str], columns: int, first: str, rest: str) -> str:
    """The chunks filled greedily; white space between two chunks on a line is kept (a line break
    is a space), at a line's start or end dropped."""
    lines: list[str] = []
    line, used, space = first, width(first), ""
    empty = True
    for chunk in chunks:
        if chunk.isspace():
            space = "" if empty else (" " if "\n" in chunk else chunk)
            continue
        piece = space + chunk
        if not empty and used + width(piece) > columns:
            lines.append(line)
            line, used, piece = rest, width(rest), chunk
        line += piece
        used += width(piece)
        empty, space = False, ""
    lines.append(line)
    return "\n".join(lines)
