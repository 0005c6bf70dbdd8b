"""What every ``propmap`` command shares: error messages, progress lines, the prepared engine.

It sits below :mod:`propmap.cli` and :mod:`propmap.cli_intake`, so both import it and
neither imports the other's internals (importing ``propmap.cli_intake`` first used to
fail on the cycle).
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy.engine import Engine

from geo._errors import user_message

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Turn errors meant for the user into a red message and exit code 2.

    The message comes from :func:`geo._errors.user_message`, the same function the
    dashboard uses; anything it does not recognise is a bug and keeps its traceback.
    """
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            message = user_message(exc)
            if message is None:
                raise
            click.secho(f"错误：{message}", fg="red", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def say(msg: str) -> None:
    """One progress line for the user, on stderr (stdout stays for results)."""
    click.echo(msg, err=True)


def engine(init: bool = True, *, create: bool | None = None) -> Engine:
    """Prepare the database and return an engine on it, disposed when the command ends.

    Parameters
    ----------
    init
        Migrate the schema, load the reference data and copy the settings the
        database needs (:func:`geo.schema.prepare`).
    create
        Create the role and database named in the URL when missing; by default
        only for the local quick-start database (see :func:`geo.db.ensure_local`).
    """
    from geo import db, schema

    url = db.ensure_local(say=say, create=create)
    eng = db.make_engine(url)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:  # no connection outlives the command
        ctx.call_on_close(eng.dispose)
    if init:
        schema.prepare(eng)
    return eng


def operator() -> str:
    """Who runs the command, for the audit log (``cli:<system user>``)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def date_option(text: str | None, hint: str) -> dt.date | None:
    """The day an option gives as ``YYYY-MM-DD`` (``None`` when not given), or a clear refusal."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"“{text}”不是 YYYY-MM-DD 格式的日期", param_hint=hint) from None
