"""One place where errors become messages in the browser: `user_errors` wraps every handler.

`FeatError`s (the user's input: not an image, no face, a bad setting) become `gr.Error` with their own
actionable message; anything else is logged with its traceback on the server and shown as a short
message without one, so a visitor never sees a stack trace.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from ..errors import FeatError

log = logging.getLogger("feat_space.ui")
F = TypeVar("F", bound=Callable)


def to_gr_error(error: BaseException) -> gr.Error:
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, FeatError):
        return gr.Error(str(error), print_exception=False)
    log.exception("Unexpected error in a handler", exc_info=error)
    return gr.Error(
        f"Something went wrong on our side ({type(error).__name__}). Your inputs are kept: try again, and if it "
        "keeps happening, open an issue with the steps that led here.",
        print_exception=False,
    )


def error_text(error: BaseException) -> str:
    """The text a page shows for `error` beside the control that caused it (anything not a FeatError is logged)."""
    return f"⚠️ {to_gr_error(error).message}"


def _catching(fn: F, handle: Callable[[Exception], Any]) -> F:
    """`fn` (a function or a generator function) with its errors given to `handle`, whose value is
    returned (or yielded last); `handle` may raise instead.

    `functools.wraps` keeps the signature and annotations, which Gradio reads to inject `gr.Request`,
    `gr.Progress` and `gr.OAuthToken`."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as e:
                yield handle(e)

        return generator  # type: ignore[return-value]

    @functools.wraps(fn)
    def function(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            return handle(e)

    return function  # type: ignore[return-value]


def _raise(error: Exception) -> Any:
    raise to_gr_error(error) from None


def user_errors(fn: F) -> F:
    """Convert errors raised by `fn` (a function or a generator function) into `gr.Error`."""
    return _catching(fn, _raise)


def errors_as_text(show: Callable[[str], Any]) -> Callable[[F], F]:
    """Like `user_errors`, but for a page's own event: the message becomes the handler's last update,
    `show(text)` (returned, or yielded by a generator), e.g. a status line beside the button. Raising
    would put Gradio's red "Error" badge on every output of the event (plots, previews, lists)."""
    return lambda fn: _catching(fn, lambda error: show(error_text(error)))
