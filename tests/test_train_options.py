"""`train`'s options become typed values at the boundary: every option of the parser is a field of
`TrainOptions` and back, so a new flag cannot be left unread (or read from a Namespace elsewhere)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from feat_space.cli.main import build_parser
from feat_space.cli.train.options import TrainOptions
from feat_space.weights.profiles import get_profile


def test_every_train_option_is_a_typed_field_and_back():
    args = build_parser().parse_args(["train", "edits/smile.yaml", "--steps", "7", "--profile", "tiny"])
    options = TrainOptions.from_args(args)
    parsed = set(vars(args)) - {"handler", "command"}
    assert parsed == {f.name for f in fields(TrainOptions)}, "a train option without its field, or a field without one"
    assert options.yaml == Path("edits/smile.yaml") and options.steps == 7 and options.sources == 1
    assert options.profile == get_profile("tiny") and options.on == "local" and not options.all


def test_options_count_the_ways_an_edit_was_named():
    parse = build_parser().parse_args
    assert TrainOptions.from_args(parse(["train", "edits/smile.yaml", "--prompt", "both"])).sources == 2
    assert TrainOptions.from_args(parse(["train"])).sources == 0
