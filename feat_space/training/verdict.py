"""Is a trained edit usable? Judged by what it *does*, on latents training never saw.

The mask mean alone passes an edit that does nothing (the identity or L2 term won) and one whose
offset ran far past the image range while its mask shrank. So at the end of a run the trainer
measures the edit's `Effect` on held-out latents: the guide's gain (its loss on the original images
minus on the edited ones), the best gain that more of the same edit would bring (an edit held far
short of its prompt gains much more from it, a met one nothing more: only the sign and the ratio of
gains are read, so the guide's unknown scale and level do not matter), and the mean pixel change
inside the mask against outside (images live in [-1, 1], a scale that is known). `judge` turns the
mask's health and the effect into a `Verdict` whose message says what went wrong and what to change;
an edit whose verdict is not ok raises `TrainingFailed` and is never published.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from .monitor import MaskHealth

NO_EFFECT_CHANGE = 0.02  # mean |change| in the mask below this (1 % of the image range): nothing visible
# Above this mean change where the mask applies (3/4 of the image's range) an edit is far past any prompt:
# black hair to blond moves its pixels by ~1.2 on average. Measured where the mask is, not over the part the prompt is
# about, so it reads higher than the oracle's region mean when the mask covers only the part's core.
RUNAWAY_CHANGE = 1.5
# A held-back edit: more of it (1.5 to 6 times as much, `DOSES`, as long as the pixels in the mask move by no more
# than RUNAWAY_CHANGE) would meet the prompt better, and the edit brings less than this share of the best of those
# gains. Where the guide is met, more of the edit gains nothing (a share of ~1); where the edit is a small part of what
# the guide asks, its gain grows nearly as fast as the edit (~1/6). A ratio of two gains, so the guide's scale and
# level cancel. Measured on the oracle, on 16 held-out faces, with the attention's |x| path: working edits 0.68-1.0
# (300 steps, seeds 0-1), 0.55-1.0 (seeds 2-11 of the hardest rows, small parts, other guide kinds), 0.70-0.94 (2000
# steps, the rows nearest the bar); the `id_weight 10` no-ops 0.36-0.39 (300 steps) and 0.36-0.52 (2000 steps, seeds
# 0-3: seed 0's at 0.520 passes this bar and is refused by the next one): a guide whose gain is concave in the edit
# (as a distance to a target is) gives a small edit a larger share.
MIN_REACH = 0.52
# An edit held short of this reach whose restraint is mostly the identity term (its share of the restraining terms'
# pull on Δ, `Effect.restraint`) is one the prompt wanted and the identity term refused: identity does not ask whether
# the prompt is met. Measured on the oracle: the `id_weight 10` no-ops of four guide kinds had identity at 0.89-0.99 of
# their restraint (300 and 2000 steps, reach 0.23-0.52); working edits 0.08-0.35 where their reach was below 0.7 and
# at most 0.69 with more (a small pixel part that reaches 0.97-1.0); an `id_weight 10` run that still did 80 % of the
# default's edit (cosine guide, 2000 steps) 0.77, accepted; docs/training.md "What holds an edit back".
HELD_REACH = 0.7
IDENTITY_HOLDS = 0.8
DOSES = (1.5, 2.0, 3.0, 4.0, 6.0)
MIN_LOCALITY = 1.5  # change inside the mask at least this many times the change outside
# Runs shorter than this are not judged by their effect (the mask has barely left its warm-up; smoke
# tests train a few steps): their verdict says so ("unjudged") instead of calling them good or bad.
MIN_JUDGED_STEPS = 50
# A step whose loss or gradient is not finite (inf, NaN) is skipped, not taken (it would turn every weight to NaN);
# this many of the last `BROKEN_WINDOW` steps end the run (ten in a row, or every other step): something in the guide
# or the settings is broken, not one odd batch.
BROKEN_STEPS = 10
BROKEN_WINDOW = 20

Status = Literal["ok", "unjudged", "closed", "global", "runaway", "no effect", "not local", "broken"]


@dataclass(frozen=True)
class Effect:
    """What the edit does on held-out latents."""

    guide_gain: float  # guide loss of the originals − of the edited images (> 0: the prompt is better met)
    change_inside: float  # mean |edited − original| per pixel, weighted by the mask
    change_outside: float  # the same, weighted by 1 − mask
    gain_more: float | None = None  # the best guide gain with the edit at each of `DOSES` times its strength
    # Each restraining term's (l2, id, change, hidden) share of their summed pull on the latent offset Δ
    restraint: dict[str, float] | None = None

    @property
    def reach(self) -> float | None:
        """The edit's gain against the best that more of it brings: 1 where more gains nothing (the prompt is
        met along the edit's own way), small where the edit is held short (None with no gain to compare)."""
        if self.gain_more is None or not self.guide_gain > 0:
            return None
        return self.guide_gain / max(self.guide_gain, self.gain_more)

    @property
    def held_by_identity(self) -> bool:
        """Held short of the prompt (reach below `HELD_REACH`) by the identity term (`IDENTITY_HOLDS`)."""
        reach, share = self.reach, (self.restraint or {}).get("id", 0.0)
        return reach is not None and reach < HELD_REACH and share >= IDENTITY_HOLDS

    @property
    def locality(self) -> float:
        return self.change_inside / max(self.change_outside, 1e-8)


@dataclass(frozen=True)
class Verdict:
    status: Status
    mask_mean: float | None
    effect: Effect | None = None
    floor: float | None = None  # the mask mean below which this edit's mask counts as closed
    broken_at: int | None = None  # "broken": the first of the recent steps whose loss or gradient was not finite

    @property
    def ok(self) -> bool:
        """Usable: judged good, or too short to judge (and saying so)."""
        return self.status in ("ok", "unjudged")

    @property
    def message(self) -> str:
        """What is wrong with the edit, in words, with what to change (empty when it is fine)."""
        e, mean = self.effect, self.mask_mean or 0.0
        if self.status == "closed":
            return (
                f"The edit's mask closed (mean {mean:.4f}, below {self.floor:.4f} for this preset): nothing would be "
                "edited. Lower area_weight, or pick a preset for smaller parts (face features, small colour), and "
                "train again."
            )
        if self.status == "global":
            return (
                f"The edit's mask covers the whole face (mean {mean:.2f}): the edit is not local. Raise area_weight, "
                "or pick a region preset closer to what the prompt changes, and train again."
            )
        if self.status == "ok":
            return ""
        if self.status == "broken":
            return (
                f"Training broke at step {self.broken_at}: the loss or its gradient was not a finite number (inf or "
                f"NaN) on {BROKEN_STEPS} of the last {BROKEN_WINDOW} steps, so they were skipped and the run stopped. "
                "The weights saved are the last good ones. Check that the guide gives finite losses for these images, "
                "or lower mapper_learning_rate and attention_learning_rate, and train again."
            )
        if self.status == "unjudged":
            return (
                f"The edit's effect was not judged: runs of fewer than {MIN_JUDGED_STEPS} steps are too short to "
                "tell an edit that does nothing from one that works. Train more steps for a usable edit."
            )
        assert e is not None  # the other failures are judged from the effect
        if self.status == "runaway":
            return (
                f"The edit ran away: it changes the pixels inside its mask by {e.change_inside:.2f} on average "
                f"(images span -1 to 1; more than {RUNAWAY_CHANGE} is far past any prompt). Raise change_weight "
                "(it holds the edit once the prompt is met) or l2_weight (train --probe shows their pull against "
                "the prompt's), and train again."
            )
        if self.status == "no effect":
            if e.reach is not None and (e.reach < MIN_REACH or e.held_by_identity):
                short = (
                    f"The edit falls short of its prompt: on new faces it brings {e.reach:.0%} of what more of it "
                    f"(up to {DOSES[-1]:g}x) would (a prompt that is met gains nothing from more)."
                )
                if e.held_by_identity:
                    identity = (e.restraint or {})["id"]
                    return (
                        f"{short} The identity term holds it back ({identity:.0%} of what restrains the edit): "
                        "lower id_weight (train --probe shows its pull against the prompt's), or train more steps "
                        "if the run was short, and train again."
                    )
                return (
                    f"{short} The identity or L2 term holds it back, or the run was too short: lower id_weight or "
                    "l2_weight (train --probe shows their pull against the prompt's), or train more steps, and "
                    "train again."
                )
            what = (
                "the prompt is not better met on new faces"
                if not e.guide_gain > 0
                else f"it changes the pixels in its mask by only {e.change_inside:.3f} on average"
            )
            return (
                f"The edit does nothing: {what}. The identity or L2 term holds it back, or these W+ layers cannot "
                "make this change. Lower id_weight or l2_weight (train --probe shows their pull against the "
                "prompt's), or pick another preset, and train again."
            )
        if self.status == "not local":
            return (
                f"The edit is not local: it changes the image outside its mask almost as much as inside "
                f"({e.locality:.1f}x). Pick a preset that blends later (colour), or raise area_weight, "
                "and train again."
            )
        raise AssertionError(self.status)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Verdict:
        effect = data.get("effect")
        return cls(
            data["status"],
            data.get("mask_mean"),
            Effect(**effect) if effect else None,
            data.get("floor"),
            data.get("broken_at"),
        )


def judge(health: MaskHealth | None, effect: Effect | None, steps: int) -> Verdict:
    """The verdict on a finished run of `steps` steps: the mask first (closed, global), then the effect."""
    mean = None if health is None else health.mask_mean
    floor = None if health is None else health.floor
    if health is not None and health.status == "collapsing":
        return Verdict("closed", mean, effect, floor)
    if health is not None and health.status == "global":
        return Verdict("global", mean, effect, floor)
    if steps < MIN_JUDGED_STEPS:
        return Verdict("unjudged", mean, effect, floor)
    if effect is not None:
        if effect.change_inside > RUNAWAY_CHANGE:
            return Verdict("runaway", mean, effect, floor)
        if not effect.guide_gain > 0 or effect.change_inside < NO_EFFECT_CHANGE:  # (a NaN gain is none)
            return Verdict("no effect", mean, effect, floor)
        if (effect.reach is not None and effect.reach < MIN_REACH) or effect.held_by_identity:
            return Verdict("no effect", mean, effect, floor)
        if effect.locality < MIN_LOCALITY:
            return Verdict("not local", mean, effect, floor)
    return Verdict("ok", mean, effect, floor)


__all__ = [
    "BROKEN_STEPS",
    "BROKEN_WINDOW",
    "DOSES",
    "HELD_REACH",
    "IDENTITY_HOLDS",
    "MIN_JUDGED_STEPS",
    "MIN_REACH",
    "NO_EFFECT_CHANGE",
    "RUNAWAY_CHANGE",
    "Effect",
    "Verdict",
    "judge",
]
