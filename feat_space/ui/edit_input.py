"""What the Edit tab's endpoints accept, checked before any work starts (pydantic).

The public `/prepare` and `/edit` take their inputs unprocessed (`preprocess=False`), so a client can
send anything JSON allows: a threshold "abc", a face number 1.7 or NaN, `edits` as one string or as
numbers. Each is refused here with a `FeatError` that names the parameter, shows what arrived and
says what to send, instead of failing deep inside a handler with a generic error, or worse, being
half-read (a string iterated letter by letter, 1.7 truncated to face 1). One string for `edits` is
read as that one edit. Ranges of strengths and thresholds are not this module's: it checks kinds.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictStr, TypeAdapter, ValidationError, field_validator

from ..errors import FeatError

FACE_NUMBER = "The face number counts from 0 (the largest face): give a whole number, 0 or more"
FaceIndex = Annotated[int, Field(ge=0)]
_face_index: TypeAdapter[int] = TypeAdapter(FaceIndex)


def shown(value: Any, limit: int = 60) -> str:
    """`value` as a message quotes it, cut short (a client may send anything, of any length)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def face_number(value: Any) -> int:
    """The face number a caller asked for (None: 0), or a `FeatError`: never a rounded or truncated one."""
    if value is None:
        return 0
    try:
        return _face_index.validate_python(value)
    except ValidationError:
        raise FeatError(f"{FACE_NUMBER}; got {shown(value)}.") from None


def json_value(value: Any) -> Any:
    """A gr.JSON input's value. Gradio's cached-example path hands it over still wrapped in its model."""
    return value.root if isinstance(value, RootModel) else value


class EditInput(BaseModel):
    """`/edit`'s parameters other than the photo and the brush masks, as the client sent them."""

    model_config = ConfigDict(allow_inf_nan=False, extra="forbid")

    edits: list[StrictStr]
    strengths: dict[StrictStr, float] | None = None
    threshold: float | None = None
    face_index: FaceIndex = 0

    @field_validator("edits", mode="before")
    @classmethod
    def _one_edit(cls, value: Any) -> Any:
        # One edit value sent as a string is that edit, not a list of its letters.
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    @field_validator("strengths", mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        return json_value(value)

    @classmethod
    def parse(cls, **values: Any) -> EditInput:
        """The checked inputs, or a `FeatError` listing every parameter that is wrong and what to send."""
        try:
            return cls.model_validate(values)
        except ValidationError as e:
            problems = dict.fromkeys(_problem(error, values) for error in e.errors())
            raise FeatError(" ".join(problems)) from None


def _problem(error: Any, values: dict[str, Any]) -> str:
    field, *rest = error["loc"]
    sent = shown(values.get(field))
    if field == "edits":
        return f'edits must be a list of edit values from /edits (e.g. ["registry:smile"]); got {sent}.'
    if field == "strengths":
        if rest and isinstance(values.get("strengths"), dict):
            key = rest[0]
            return f"The strength of {key} must be a number, got {shown(values['strengths'].get(key, key))}."
        return f'strengths must be a mapping {{edit value: strength}} (e.g. {{"registry:smile": 1.5}}); got {sent}.'
    if field == "threshold":
        return f"threshold must be a number (the mask threshold) or None for the first edit's default; got {sent}."
    if field == "face_index":
        return f"{FACE_NUMBER}; got {sent}."
    return f"{field} is not a parameter of /edit."


__all__ = ["FACE_NUMBER", "EditInput", "face_number", "json_value", "shown"]
