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


def test_a_skipped_step_is_said_once_here_and_once_in_a_jobs_log(monkeypatch, tmp_path, capsys):
    """A job logs stdout and stderr together, and its progress line already carries the warning."""
    import feat_space.registry.entry_training as entry_training
    import feat_space.session as session
    from feat_space.cli.train.local import train_here
    from feat_space.cli.train.options import Target
    from feat_space.registry.drafts import entry_from_prompt
    from feat_space.training.run import RunStep
    from feat_space.training.trainer import TrainProgress

    class FakeSession:
        notice, generator, clip, arcface = None, None, None, None

        def __init__(self, profile):
            pass

    class FakeTraining:
        result = type("Result", (), {"usable": True})()
        trainer = type("Trainer", (), {"verdict": None, "step": 3, "health": None})()

        def __init__(self, *args, **kwargs):
            pass

        def steps(self, mask_threshold):
            for k in (1, 2, 3):
                progress = TrainProgress(k, 3, {"total": 1.0}, skipped=k == 2, done=k == 3)
                yield RunStep(progress, elapsed=float(k), seconds_per_step=1.0)

    monkeypatch.setattr(session, "Session", FakeSession)
    monkeypatch.setattr(entry_training, "EntryTraining", FakeTraining)
    target = Target(entry_from_prompt("a face with freckles", "colour"), tmp_path / "out")
    for lines in (False, True):
        args = ["train", "--prompt", "x", "--every", "1", *(["--progress-lines"] if lines else [])]
        options = TrainOptions.from_args(build_parser().parse_args(args))
        assert options.progress_lines == lines
        assert train_here(options, target) == 0
        printed = capsys.readouterr()
        assert (printed.out + printed.err).count("Step 2 was skipped") == 1, (lines, printed)
