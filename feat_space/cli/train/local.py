"""`train` on this machine: the registry entry to train (from a YAML, a prompt, or a job's
environment) and the training itself, which is also what a Hugging Face Job runs."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from ..base import INTERRUPTED
from .options import Target, TrainOptions

if TYPE_CHECKING:
    from ...registry.schema import EditEntry


def entry_of(options: TrainOptions) -> EditEntry:
    """The registry entry to train, from the YAML, the prompt, or (in a job) the environment."""
    import yaml
    from pydantic import ValidationError

    from ...editing.preset_suggestion import suggest_preset
    from ...errors import FeatError
    from ...registry.drafts import entry_from_prompt
    from ...registry.registry import load_registry
    from ...registry.schema import EditEntry

    if options.yaml:
        entry = next(iter(load_registry([options.yaml]).values()))
    elif options.entry_env:
        try:
            entry = EditEntry.model_validate(yaml.safe_load(os.environ[options.entry_env]))
        except (KeyError, yaml.YAMLError, ValidationError) as e:
            raise FeatError(f"The job's edit entry (${options.entry_env}) is missing or invalid: {e}") from None
    else:
        assert options.prompt is not None  # one source was given (`TrainOptions.sources`)
        region = options.region
        if region is None:
            suggestion = suggest_preset(options.prompt)
            region = suggestion.preset
            print(f"Preset “{region}” ({suggestion.reason}); choose another with --region.")
        entry = entry_from_prompt(options.prompt, region, name=options.name, where="feat-space (command line)")
    return with_overrides(entry, options)


def with_overrides(entry: EditEntry, options: TrainOptions) -> EditEntry:
    """`entry` with --steps / --threshold, checked like a YAML's values."""
    from pydantic import ValidationError

    from ...editing.ranges import THRESHOLD
    from ...errors import FeatError
    from ...registry.drafts import with_settings

    if options.threshold is not None:  # said in the words of the command line, not the schema's
        THRESHOLD.check(options.threshold, "--threshold")
    try:
        return with_settings(entry, steps=options.steps or None, mask_threshold=options.threshold)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise FeatError(f"--steps / --threshold: {problems}") from None


def probe_here(options: TrainOptions, entry: EditEntry) -> int:
    """`train --probe`: the balance of the loss terms of this entry's training (training.balance), nothing saved."""
    from ...errors import FeatError
    from ...session import Session
    from ...training.balance import balance_probe

    steps = options.probe
    if steps is None or steps < 1:
        raise FeatError(f"--probe takes a number of steps of at least 1 (got {steps}).")
    session = Session(options.profile)
    if session.notice:
        print(session.notice)
    G = session.generator
    config = entry.recipe.config_for(G, entry.prompt, strength=entry.defaults.strength)
    print(f"Probing the loss balance of “{entry.prompt}” over {steps} steps (nothing is saved)…", flush=True)
    report = balance_probe(G, session.clip, session.arcface, config, entry.training, steps=steps)
    print("\n".join(report.lines()))
    return 0


def train_here(options: TrainOptions, target: Target) -> int:
    """Train `target` on this machine (the same code a job runs); publish it if it names a repo."""
    from ...registry.entry_training import EntryTraining
    from ...session import Session
    from ...training.report import progress_text, report_line, report_of, result_line
    from ...training.trainer import TrainingFailed

    entry, output, lines = target.entry, target.output, options.progress_lines
    session = Session(options.profile)
    if session.notice:
        print(session.notice)
    training = EntryTraining(
        session.generator, session.clip, session.arcface, entry, output, resume=options.resume, checkpoint_every=200
    )
    settings = entry.training
    print(
        f"Training “{entry.prompt}” for {settings.steps} steps into {output}/ (Ctrl-C stops and keeps it)", flush=True
    )
    warned = None
    interrupted = False
    try:
        for s in training.steps(mask_threshold=entry.defaults.mask_threshold):
            health = s.progress.health
            if s.progress.skip_warning and not lines:  # a job's progress line carries it (a job logs both streams)
                print(f"warning: {s.progress.skip_warning}", file=sys.stderr, flush=True)
            if health is not None and health.warning and health.status != warned:
                print(f"warning at step {s.step}: {health.warning}", file=sys.stderr, flush=True)
            warned = health.status if health is not None and health.warning else None
            # A job's log is its only channel: a skipped step gets its own line, so the Train tab hears of it.
            if s.step % options.every == 0 or s.progress.done or (lines and s.progress.skipped):
                report = report_of(s)
                # Here, a warning is printed once when it appears (above), not on every line.
                print(report_line(report) if lines else progress_text(replace(report, warning=None)), flush=True)
    except KeyboardInterrupt:
        interrupted = True  # what was learned is saved (and published if asked); the exit code says it stopped
        print(f"\nStopped at step {training.trainer.step}; resume with --resume.")
    except TrainingFailed as e:
        print(f"{e}\nThe checkpoint in {output}/ is kept for a look, marked as failed; it cannot be published.")
        if lines:
            print(result_line("failed", training.trainer.step), flush=True)
        return 1
    result = training.result
    verdict = training.trainer.verdict
    if verdict is not None and verdict.message:  # e.g. a run too short to judge by its effect
        print(verdict.message, flush=True)
    if result is None or not result.usable:
        why = training.trainer.health.warning if training.trainer.health is not None else "no step was trained"
        print(f"The edit is not usable yet: {why}", file=sys.stderr)
        if lines:
            print(result_line("failed", training.trainer.step), flush=True)
        return INTERRUPTED if interrupted else 1
    if not target.publish:
        from ...registry.schema import default_repo

        repo = default_repo("<you>", entry.name)
        print(f"Saved {output}/. Publish: python -m feat_space publish {output} --repo {repo}")
        return INTERRUPTED if interrupted else 0
    from huggingface_hub import get_token

    from ...registry.publishing import publish_edit

    published = publish_edit(output, target.publish, get_token(), name=entry.name, private=options.private)
    print(f"Uploaded to {published.url} (commit {published.revision})", flush=True)
    if lines:
        print(
            result_line(
                result.outcome,
                result.steps_done,
                repo=published.repo_id,
                revision=published.revision,
                url=published.url,
            ),
            flush=True,
        )
    elif target.pin is not None:
        from ...registry.drafts import entry_data
        from ...registry.publishing import pin_in_registry

        pin_in_registry(target.pin, published, defaults=entry_data(training.entry))
        print(f"Pinned {target.pin} to {published.repo_id}@{published.revision}.")
    return INTERRUPTED if interrupted else 0
