#!/usr/bin/env python3
"""The message catalogues (see fund_common/i18n.py): extract, update, compile, check, merge.

    python scripts/i18n.py extract     # the marked strings -> fund_common/locale/<domain>.pot (not in git)
    python scripts/i18n.py update      # extract, then add new msgids to each language's .po
    python scripts/i18n.py compile     # .po -> .mo (what the program reads)
    python scripts/i18n.py check       # exit 1 naming each msgid without a translation
    python scripts/i18n.py merge F.po  # copy the translations in F.po into the zh_CN catalogues

The usual round after marking strings: ``update``, translate the new entries in
``fund_common/locale/zh_CN/LC_MESSAGES/*.po``, ``compile``; tests/fund_common/test_i18n_catalogues.py
fails while a string is untranslated or a ``.mo`` is older than its ``.po``. Needs Babel
(requirements-dev.txt).
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "fund_common" / "locale"
TRANSLATED = ("zh_CN",)
PYTHON_KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
JINJA = "jinja2.ext:babel_extract"


@dataclass(frozen=True)
class Domain:
    name: str
    #: (folder under ROOT, glob pattern inside it, extraction method)
    sources: tuple[tuple[str, str, str], ...]
    keywords: dict[str, tuple[int, int] | None]


DOMAINS = (
    Domain(
        "fund_scheduler",
        (
            ("fund_common", "**.py", "python"),
            ("fund_scheduler", "**.py", "python"),
            ("fundpipe", "**.py", "python"),
            ("jobs", "**.py", "python"),
            ("fund_scheduler/api/web", "**.html", JINJA),
            ("fundpipe/report/templates", "**.j2", JINJA),
        ),
        PYTHON_KEYWORDS,
    ),
    Domain(
        "fund_scheduler_web",
        (("fund_scheduler/api/web", "**.js", "javascript"),),
        {"t": None, "tn": (1, 2), "N_": None},
    ),
)


def extract(domain: Domain) -> Catalog:
    """Every marked string of ``domain``'s sources, with where it is."""
    catalog = Catalog(project="fund-scheduler", domain=domain.name, charset="utf-8", fuzzy=False)
    for folder, pattern, method in domain.sources:
        base = ROOT / folder
        for filename, lineno, message, comments, context in extract_from_dir(
            str(base),
            method_map=[(pattern, method)],
            keywords=domain.keywords,
            comment_tags=("Translators:",),
            options_map={pattern: {"extensions": "jinja2.ext.i18n", "trimmed": "true"}},
            strip_comment_tags=True,
        ):
            location = (str(Path(folder) / filename), lineno)
            catalog.add(message, None, [location], auto_comments=comments, context=context)
    if domain.name == "fund_scheduler":
        for text, location in click_help_messages():
            catalog.add(text, None, [location])  # a msgid seen before gains the location
    return catalog


def click_help_messages() -> Iterable[tuple[str, tuple[str, int]]]:
    """The CLI's ``--help`` texts (English literals click reads at import, translated when shown:
    fund_scheduler/cli/help_text.py), each with where its command is: every command's, the lazily
    loaded and hidden ones too."""
    import inspect

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import click

    from fund_scheduler.cli.app import cli
    from fund_scheduler.cli.help_text import help_texts

    for text, command in help_texts(cli, click.Context(cli, info_name="fund-scheduler")):
        function = inspect.unwrap(command.callback) if command.callback else None
        source = inspect.getsourcefile(function) if function else None
        if source is None or function is None:
            yield text, ("fund_scheduler/cli/app.py", 0)
        else:
            yield text, (str(Path(source).resolve().relative_to(ROOT)), function.__code__.co_firstlineno)


def po_path(language: str, domain: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"


def read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=False, include_previous=False)
    path.write_bytes(buffer.getvalue())


def update() -> None:
    for domain in DOMAINS:
        template = extract(domain)
        write(LOCALE_DIR / f"{domain.name}.pot", template)
        for language in TRANSLATED:
            path = po_path(language, domain.name)
            catalog = read(path) if path.exists() else Catalog(locale=language, domain=domain.name)
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
            write(path, catalog)
            print(f"{path.relative_to(ROOT)}: {len(untranslated(catalog))} untranslated")


def compile_all() -> None:
    for domain in DOMAINS:
        for language in TRANSLATED:
            path = po_path(language, domain.name)
            with path.with_suffix(".mo").open("wb") as handle:
                write_mo(handle, read(path), use_fuzzy=False)


def untranslated(catalog: Catalog) -> list[Message]:
    """The entries without a usable translation (empty, a missing plural form, or fuzzy)."""
    found = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if message.fuzzy or not all(strings):
            found.append(message)
    return found


PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|%\([a-z_]+\)[sd]|%[sd]")


def placeholder_mismatches(catalog: Catalog) -> list[str]:
    """Entries whose translation drops or invents a ``{name}`` / ``%s`` placeholder."""
    problems = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for text in strings:
            if text and set(PLACEHOLDER.findall(text)) - wanted or (
                text and set(PLACEHOLDER.findall(ids[0])) - set(PLACEHOLDER.findall(text))
            ):
                problems.append(f"{ids[0]!r} -> {text!r}")
    return problems


def check_problems() -> list[str]:
    """One line per msgid in the sources without a zh_CN translation, per bad placeholder, and
    per ``.mo`` that does not hold its ``.po``."""
    problems = []
    for domain in DOMAINS:
        template = extract(domain)
        for language in TRANSLATED:
            path = po_path(language, domain.name)
            if not path.exists():
                problems.append(f"{path.relative_to(ROOT)} is missing: python scripts/i18n.py update")
                continue
            catalog = read(path)
            for message in template:
                if not message.id:
                    continue
                entry = catalog.get(message.id, message.context)
                where = ", ".join(f"{f}:{n}" for f, n in message.locations[:2])
                named = f"{domain.name} {language}: {message.id!r} ({where})"
                if entry is None:
                    problems.append(f"{named} is not in the catalogue")
                elif entry in untranslated(catalog):
                    problems.append(f"{named} has no translation")
            bad = placeholder_mismatches(catalog)
            problems += [f"{domain.name} {language}: placeholder {p}" for p in bad]
            problems += stale_mo(path, catalog)
    return problems


def stale_mo(path: Path, catalog: Catalog) -> list[str]:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    mo = path.with_suffix(".mo")
    if not mo.exists() or mo.read_bytes() != buffer.getvalue():
        return [f"{mo.relative_to(ROOT)} does not hold {path.name}: python scripts/i18n.py compile"]
    return []


def merge(fragments: Iterable[Path]) -> None:
    """Copy each fragment's non-empty translations into the zh_CN catalogue of the same msgid."""
    given: dict[str, str | tuple[str, ...]] = {}
    for fragment in fragments:
        for message in read(fragment):
            if message.id and message.string:
                key = message.id[0] if isinstance(message.id, tuple | list) else message.id
                given[key] = message.string
    for domain in DOMAINS:
        path = po_path("zh_CN", domain.name)
        catalog = read(path)
        filled = 0
        for message in catalog:
            key = message.id[0] if isinstance(message.id, tuple | list) else message.id
            empty = not (all(message.string) if message.pluralizable else message.string)
            if key in given and (empty or message.fuzzy):
                value = given[key]
                if message.pluralizable:
                    forms = (value,) if isinstance(value, str) else tuple(value)
                    value = (forms + forms[-1:] * catalog.num_plurals)[: catalog.num_plurals]
                elif not isinstance(value, str):
                    value = value[0]
                message.string = value
                message.flags.discard("fuzzy")
                filled += 1
        write(path, catalog)
        print(f"{path.relative_to(ROOT)}: {filled} filled, {len(untranslated(catalog))} untranslated")


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "extract":
        for domain in DOMAINS:
            write(LOCALE_DIR / f"{domain.name}.pot", extract(domain))
    elif command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "merge":
        merge(Path(p) for p in argv[1:])
    elif command == "check":
        problems = check_problems()
        for line in problems:
            print(line)
        return 1 if problems else 0
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
