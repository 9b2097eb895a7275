"""Train one FEAT edit from a text prompt, step by step, with progress for a UI to stream.

No data set: each step samples latents from the generator (truncated toward `latent_avg`), edits them,
and scores the blended result with CLIP (toward the prompt), ArcFace (same person), the size of the
latent offset, and the mask's area and total variation.

`Trainer.run()` is a generator of `TrainProgress`; stopping is between steps, either by setting the
`stop` event or by closing the generator. Checkpoints are edit folders (`config.json` +
`model.safetensors`, loadable by `load_edit_folder`) plus `trainer_state.pt` (step, optimizer; loaded
with `weights_only=True`) and `training.json` (settings and loss history, for the model card).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, cast

import torch

from ..editing.edit import EditConfig, FeatEdit
from ..editing.render import OriginalPass, Rendered, render
from ..editing.storage import TRAINING_LOG, load_edit_folder, save_edit
from ..errors import CheckpointError, FeatError
from ..models.arcface import IRSE50ArcFace, face_crop_112
from ..models.loading import read_checkpoint
from ..models.stylegan2 import Generator
from .losses import (
    Focus,
    GuideScale,
    hidden_strength,
    identity_loss,
    image_change,
    latent_l2,
    loss_weights,
    mask_area,
    scaled_gradient,
    total_variation,
    unit_gradient,
)
from .monitor import MaskHealth, MaskMonitor, floor_for
from .settings import TrainingSettings
from .verdict import BROKEN_STEPS, BROKEN_WINDOW, DOSES, RUNAWAY_CHANGE, Effect, Verdict, judge

STATE_NAME = "trainer_state.pt"
HELD_OUT_STEP = 10**9  # latents of steps from here on are never trained on: the final verdict's sample
# Its size. A small part covers ~1 % of a face, and on some faces the mask misses it: with 4 latents
# the edit's share of what more of it gains (the held-back test) moved by up to 0.3 between samples of the same run
# (small 1.5 % seed 4: 0.32 on 4, 0.62-0.64 on 16-32), enough to call a working edit a no-op.
HELD_OUT_LATENTS = 16
# Of them, the latents on which the restraining terms' pulls are weighed (a backward pass per term): their shares
# differ by 3x and more between an edit that identity holds back and one that works (docs/training.md).
RESTRAINT_LATENTS = 8
RESTRAINING = ("l2", "id", "change", "hidden")  # the terms that hold an edit back (`Effect.restraint`)
ATTENTION_TUNED_WIDTH = 32  # input channels of the attention's reduce convs where its learning rate was tuned
LOG_NAME = TRAINING_LOG
SPIKE_WARMUP = 10  # steps of gradient norms seen before `gradient_spike` limits any
SPIKE_AVERAGING = 0.05  # the recent norm's moving-average rate (~20 steps)


def _change_in_out(edited: torch.Tensor, original: torch.Tensor, mask: torch.Tensor) -> tuple[float, float]:
    """Mean |edited − original| per pixel weighted by the mask, and by 1 − mask (images live in [-1, 1])."""
    change = (edited - original).abs().mean(1, keepdim=True)
    m = torch.nn.functional.interpolate(mask, size=change.shape[-2:], mode="bilinear", align_corners=False)
    inside = (m * change).sum() / m.sum().clamp_min(1e-8)
    outside = ((1 - m) * change).sum() / (1 - m).sum().clamp_min(1e-8)
    return inside.item(), outside.item()


class TrainingFailed(FeatError):
    """Training ended with an edit that is not usable: its mask closed or covers everything, or the edit
    does nothing or ran away (`verdict` says which; the message says what to change)."""

    def __init__(self, verdict: Verdict):
        self.verdict = verdict
        broke = verdict.status == "broken"
        lead = "Training stopped." if broke else "Training finished, but the edit was not accepted."
        super().__init__(f"{lead} {verdict.message}")

    def __reduce__(self):  # picklable across processes (its one argument is not the message)
        return (type(self), (self.verdict,))


class TextGuide(Protocol):
    """What training needs of CLIP: a differentiable loss pulling images toward a prompt."""

    def loss(self, images: torch.Tensor, prompt: str) -> torch.Tensor: ...


@dataclass
class TrainProgress:
    step: int  # steps completed
    total: int
    losses: dict[str, float]
    preview: torch.Tensor | None = None  # [3, r, r] edited image of a fixed latent, about [-1, 1]
    preview_mask: torch.Tensor | None = None  # [1, m, m] its mask
    checkpoint: Path | None = None  # set when a checkpoint was written after this step
    done: bool = False
    health: MaskHealth | None = None  # how the mask is doing; its `warning` is for the person watching
    skipped: bool = False  # this step's loss or gradient was not finite: the weights were left as they were
    history: list[dict[str, float]] = field(default_factory=list, repr=False)

    @property
    def skip_warning(self) -> str | None:
        """What a person watching should know about a skipped step (None when it was taken)."""
        if not self.skipped:
            return None
        return (
            f"Step {self.step} was skipped: its loss or gradient was not a finite number (inf or NaN), so the "
            f"weights were left as they were. {BROKEN_STEPS} such steps within {BROKEN_WINDOW} stop the run."
        )


@dataclass
class Terms:
    """One step's losses (unweighted, plus the weighted `total`), the weights applied, and what they act on."""

    parts: dict[str, torch.Tensor]
    weights: dict[str, float]
    delta: torch.Tensor  # the mapper's W+ offset [B, n_latent, D]
    mask: torch.Tensor  # the attention network's mask [B, 1, r, r]


class Trainer:
    def __init__(
        self,
        G: Generator,
        guide: TextGuide,
        arcface: IRSE50ArcFace,
        config: EditConfig,
        settings: TrainingSettings | None = None,
        output_dir: str | Path | None = None,
        resume: bool = False,
        preview_every: int = 50,
        checkpoint_every: int = 200,
    ):
        self.G, self.guide, self.arcface = G, guide, arcface
        # The base networks stay frozen: only the edit learns (and no gradients are kept for them).
        G.requires_grad_(False)
        arcface.requires_grad_(False).eval()
        self.settings = settings = settings or TrainingSettings()
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.preview_every, self.checkpoint_every = preview_every, checkpoint_every
        self.device = next(G.parameters()).device
        self.step = 0
        self.history: list[dict[str, float]] = []
        self.monitor = MaskMonitor(settings, floor_for(config.smallest_part))
        self.verdict: Verdict | None = None  # set when the run reaches its last step (or breaks)
        self.skipped_steps: list[int] = []  # steps (1-based) not taken: their loss or gradient was not finite
        self.latents_in_use: torch.Tensor | None = None  # the original latents of the images being scored
        self.guide_scale = GuideScale(settings.guide_calibration)
        # The mask's scale is measured over the last steps of the warm-up, once the edit has formed.
        self.mask_scale = GuideScale(settings.guide_calibration)
        self._observing = False  # the forward pass under way is a training step's
        if resume:
            self.edit = self._resume(config)
        else:
            self.edit = FeatEdit(config).to(self.device)
            self.optimizer = self._optimizer(self.edit)
        self.edit.check_generator(G)
        if self.step > settings.steps:
            raise FeatError(f"The checkpoint is at step {self.step}, beyond the {settings.steps} steps asked for.")
        g = torch.Generator().manual_seed(settings.seed + 1_000_003)
        self.preview_z = torch.randn(1, G.style_dim, generator=g).to(self.device)

    # -- checkpoints ---------------------------------------------------------------------------

    def _resume(self, config: EditConfig) -> FeatEdit:
        if self.output_dir is None or not (self.output_dir / STATE_NAME).is_file():
            raise FeatError(f"Nothing to resume in {self.output_dir}: no {STATE_NAME}. Start a new training instead.")
        edit = load_edit_folder(self.output_dir).to(self.device)
        if edit.config != config:
            raise FeatError(f"The checkpoint in {self.output_dir} was trained with another setup; start a new one.")
        edit.train()
        state = read_checkpoint(self.output_dir / STATE_NAME)
        self.optimizer = self._optimizer(edit)
        # The schedule's base rates follow the settings (older states do not have them at all).
        base_rates = [group["initial_lr"] for group in self.optimizer.param_groups]
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            for group, rate in zip(self.optimizer.param_groups, base_rates, strict=True):
                group["initial_lr"] = rate
            self.step = int(state["step"])
            self.monitor.load_state_dict(state["monitor"])
            self.guide_scale.load_state_dict(state["guide_scale"])
            self.mask_scale.load_state_dict(state["mask_scale"])
            self.skipped_steps = [int(k) for k in state.get("skipped_steps", [])]  # absent before they were kept
        except (KeyError, ValueError, TypeError) as e:
            raise CheckpointError(f"{self.output_dir / STATE_NAME} is damaged ({e}); start a new training.") from None
        log = self.output_dir / LOG_NAME
        saved = json.loads(log.read_text()) if log.is_file() else {}
        self.history = saved.get("history", [])
        # A run resumed at its last step has nothing left to train: its verdict stands (and `run` says it
        # again). One resumed earlier trains on, so an earlier stop ("broken") is not its verdict.
        if self.step >= self.settings.steps and saved.get("verdict"):
            self.verdict = Verdict.from_dict(saved["verdict"])
        return edit

    def _optimizer(self, edit: FeatEdit) -> torch.optim.Optimizer:
        s = self.settings
        lr = s.attention_learning_rate
        # Adam moves every weight by ~lr whatever its gradient, so a 1x1 conv over c standardised channels
        # moves its output ~c times as far: the reduce convs' rate goes as 1/c above the widths it was
        # tuned at (measured: the mask logits then move alike at 32 and at config-f's 512 channels).
        widths = edit.config.attention_in_channels
        reduce = [
            {"params": conv.parameters(), "lr": lr * min(1.0, ATTENTION_TUNED_WIDTH / width)}
            for conv, width in zip(edit.attention.reduce, widths, strict=True)
        ]
        groups = [
            {"params": edit.mapper.parameters(), "lr": s.mapper_learning_rate},
            *reduce,
            {"params": edit.attention.mix.parameters(), "lr": lr},
        ]
        for group in groups:  # the rate each group is scheduled from (`_schedule_learning_rates`)
            group["initial_lr"] = group["lr"]
        return torch.optim.Adam(groups)

    @property
    def health(self) -> MaskHealth | None:
        """The mask's state as of the last step (None before the first)."""
        return self.monitor.health

    def save(self) -> Path:
        if self.output_dir is None:
            raise FeatError("No output folder was given for checkpoints.")
        save_edit(self.edit, self.output_dir)
        torch.save(
            {
                "step": self.step,
                "optimizer": self.optimizer.state_dict(),
                "monitor": self.monitor.state_dict(),
                "guide_scale": self.guide_scale.state_dict(),
                "mask_scale": self.mask_scale.state_dict(),
                "skipped_steps": self.skipped_steps,
            },
            self.output_dir / STATE_NAME,
        )
        log = {
            "prompt": self.edit.config.prompt,
            "settings": self.settings.model_dump(),
            "steps_trained": self.step,  # settings.steps is what was asked for; a stopped run trained fewer
            "skipped_steps": self.skipped_steps,  # not finite, so not taken (see `train_step`)
            "mask": self.monitor.summary(),
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
            "history": self.history,
        }
        (self.output_dir / LOG_NAME).write_text(json.dumps(log, indent=1))
        return self.output_dir

    # -- one step ------------------------------------------------------------------------------

    def sample_wplus(self, step: int) -> torch.Tensor:
        """Training latents of `step`: deterministic per (seed, step), so a resumed run continues alike."""
        s, G = self.settings, self.G
        g = torch.Generator().manual_seed(s.seed * 1_000_003 + step)
        z = torch.randn(2, s.batch_size, G.style_dim, generator=g)
        # Style mixing: inverted photos have W+ entries that differ; sampled ones are all equal.
        mixed = torch.rand(s.batch_size, generator=g) < s.style_mixing
        crossover = torch.randint(1, G.n_latent, (s.batch_size,), generator=g)
        with torch.no_grad():
            wplus = G.to_wplus(G.mapping(z[0].to(self.device), psi=s.truncation)).clone()
            if mixed.any():  # the second latents are drawn always (same stream), mapped only when used
                later = torch.arange(G.n_latent).view(1, -1) >= crossover.view(-1, 1)
                take = (mixed.view(-1, 1) & later).to(self.device).unsqueeze(-1)
                second = G.to_wplus(G.mapping(z[1].to(self.device), psi=s.truncation))
                wplus = torch.where(take, second, wplus)
            return wplus

    def _mask_gradient(self, mask: torch.Tensor) -> torch.Tensor:
        """The mask as the image losses see it: their gradient on it normalised (see settings)."""
        mode = self.settings.mask_gradient
        if mode == "raw":
            return mask
        if mode == "per step":
            return unit_gradient(mask)
        start = max(0, self.monitor.warmup - self.settings.guide_calibration)
        return scaled_gradient(mask, self.mask_scale, self._observing and self.step >= start)

    def render(
        self, wplus: torch.Tensor, strength: float | None = None, original: OriginalPass | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(edited image, original image, mask, Δ) at the training resolution (`editing.render`, the
        original pass without gradients: only the edit learns); `strength` scales Δ (default: the edit's).
        `original`: a frozen `OriginalPass` of `wplus` to reuse (renders of one batch at several strengths)."""
        out, original_image, delta = self._rendered(wplus, strength, original)
        return out.image, original_image, out.masks[0], delta

    def _rendered(
        self, wplus: torch.Tensor, strength: float | None = None, original: OriginalPass | None = None
    ) -> tuple[Rendered, torch.Tensor, torch.Tensor]:
        """`render`'s pieces: the `Rendered` (its image focused in a run's first steps), the original image, Δ."""
        G, config = self.G, self.edit.config
        original = original if original is not None else OriginalPass(G, wplus, frozen=True)
        delta = self.edit.mapper(wplus)
        # A run's first `focus_steps` training steps weight the mapper's gradient toward where the guide pulls.
        focus = Focus() if self._observing and self.step < self.settings.focus_steps else None
        # The image losses tell the mask where the edit helps; blending sees the mask through
        # `_mask_gradient` (their gradient on it scaled as settings.mask_gradient says).
        out = render(
            G,
            wplus,
            [(self.edit, None)],
            size=self.settings.resolution,
            stages=original,
            wplus_edit=wplus + (config.strength if strength is None else strength) * delta,
            blend_mask=self._mask_gradient,
            blend_edit=None if focus is None else focus.edit,
        )
        if focus is not None:
            out = replace(out, image=focus.image(out.image))
        return out, original.original_image(out.layer), delta

    def losses(self, wplus: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.terms(wplus).parts

    def terms(self, wplus: torch.Tensor, observe: bool = False) -> Terms:
        """The weighted loss terms of `wplus` (and their sum, `total`), with the Δ and mask they act on.
        `observe`: a training step's, whose backward calibrates the guide's scale."""
        s = self.settings
        self.latents_in_use = wplus
        out, original, delta = self._rendered(wplus)
        edited, mask = out.image, out.masks[0]
        with torch.no_grad():
            original_embedding = self.arcface(face_crop_112(original))
        guided = scaled_gradient(edited, self.guide_scale, observe) if s.normalize_guidance else edited
        parts = {
            "clip": self.guide.loss(guided, self.edit.config.prompt).mean(),
            "l2": latent_l2(delta[:, slice(*self.edit.config.mapped_layers)]),
            "id": identity_loss(self.arcface, edited, original_embedding),
            "change": image_change(edited, original),
            "hidden": hidden_strength(out.edited_rgb, original, mask),
            "area": mask_area(mask),
            "tv": total_variation(mask),
        }
        weights = loss_weights(s)
        weights["area"] *= self.monitor.area_scale(self.step)  # warm-up and the monitor's correction
        weights["change"] *= self.change_gate()
        weights["hidden"] *= weights["change"]  # a share of the change term, gated with it
        parts["total"] = cast(torch.Tensor, sum(weights[k] * v for k, v in parts.items()))
        return Terms(parts, weights, delta, mask)

    def change_gate(self) -> float:
        """Share of `change_weight` in force: none while the guide pulls as hard as when it was calibrated,
        all of it once the guide is met (its pull gone). An unmet guide is not fought; a met one lets the
        change term bring the edit back to where the guide stopped paying."""
        if not self.settings.normalize_guidance:
            return 1.0  # a raw guide has no measured pull to read: the weights stand as given
        pull = self.guide_scale.pull
        return 0.0 if pull is None else min(1.0, max(0.0, 1.0 - pull))

    def _schedule_learning_rates(self) -> None:
        """Each group's rate for this step. The mapper's ramps up linearly over its first `mapper_warmup`
        steps: Adam's first steps are full-sized whatever the gradient, and at the mapper's rate they carried
        the edit far past a guide's goal before the guide could say it was met. Every rate falls linearly to
        0 over the last `lr_decay` share of the run, so the edit settles: at a constant rate the mask kept
        wandering (the region's in/out between 1.4 and 5.4 from one 100 steps to the next), and a run ended
        wherever that walk happened to be."""
        s, step = self.settings, self.step
        decay_steps = round(s.lr_decay * s.steps)
        settle = min(1.0, (s.steps - step) / decay_steps) if decay_steps else 1.0
        for i, group in enumerate(self.optimizer.param_groups):
            warm = min(1.0, (step + 1) / s.mapper_warmup) if i == 0 and s.mapper_warmup else 1.0
            group["lr"] = group["initial_lr"] * warm * settle

    def _read_step(
        self, parts: dict[str, torch.Tensor]
    ) -> tuple[dict[str, float], list[tuple[dict, torch.Tensor, float]]]:
        """The step's loss values, and (group, norm tensor, norm) of each parameter group with a gradient,
        all read from the device in one go: on a GPU each read waits for it."""
        groups = [g for g in self.optimizer.param_groups if any(p.grad is not None for p in g["params"])]
        totals = [torch.nn.utils.get_total_norm([p.grad for p in g["params"] if p.grad is not None]) for g in groups]
        read = torch.stack([*(v.detach().float() for v in parts.values()), *totals]).tolist()
        values = dict(zip(parts, read[: len(parts)], strict=True))
        return values, list(zip(groups, totals, read[len(parts) :], strict=True))

    def _limit_gradient_spikes(self, norms: list[tuple[dict, torch.Tensor, float]]) -> None:
        """Clip each group's gradient to `gradient_spike` times its recent norm (kept in the group, so it is
        saved with the optimizer and a resumed run goes on alike). Relative, so no gradient scale is assumed;
        the first `SPIKE_WARMUP` steps only measure. `norms`: from `_read_step`, all finite."""
        limit_factor = self.settings.gradient_spike
        if not limit_factor:
            return
        for group, total, norm in norms:
            average = group.get("recent_grad_norm")
            limit = limit_factor * average if average is not None and self.step >= SPIKE_WARMUP else math.inf
            if norm > limit:  # rare: ordinary steps are left untouched, not rescaled by 1
                torch.nn.utils.clip_grads_with_norm_(group["params"], limit, total)
                norm = limit
            group["recent_grad_norm"] = norm if average is None else average + SPIKE_AVERAGING * (norm - average)

    def train_step(self) -> dict[str, float]:
        """One optimizer step on a fresh batch. A step whose loss or gradient is not finite is skipped (Adam
        would turn every weight to NaN) and recorded in `skipped_steps`; `BROKEN_STEPS` of the last
        `BROKEN_WINDOW` steps end the run with `TrainingFailed` ("broken"), the weights as they were before."""
        self.edit.train()
        self._observing = True
        try:
            parts = self.terms(self.sample_wplus(self.step), observe=True).parts
        finally:
            self._observing = False
        self.optimizer.zero_grad(set_to_none=True)
        parts["total"].backward()
        values, norms = self._read_step(parts)
        finite = math.isfinite(values["total"]) and all(math.isfinite(norm) for _, _, norm in norms)
        if finite:
            self._limit_gradient_spikes(norms)
            self._schedule_learning_rates()
            self.optimizer.step()
        else:
            self.optimizer.zero_grad(set_to_none=True)
            self.skipped_steps.append(self.step + 1)
        self.step += 1
        if math.isfinite(values["area"]):  # a mean that is not a number would stay in the moving average
            self.monitor.update(self.step, values["area"])
        # A value that is not a number is left out: training.json stays strict JSON, and plots skip the step.
        self.history.append({"step": self.step, **{k: v for k, v in values.items() if math.isfinite(v)}})
        broken = [k for k in self.skipped_steps if k > self.step - BROKEN_WINDOW]
        if len(broken) >= BROKEN_STEPS:
            health = self.health
            mean, floor = (health.mask_mean, health.floor) if health is not None else (None, self.monitor.floor)
            self.verdict = Verdict("broken", mean, None, floor, broken_at=broken[0])
            raise TrainingFailed(self.verdict)
        return values

    @torch.no_grad()
    def effect(self, latents: int = HELD_OUT_LATENTS) -> Effect:
        """What the edit does on `latents` latents training never saw: the guide's gain (and the best that more
        of the edit would bring), and the change in / out of the mask."""
        was_training = self.edit.training
        self.edit.eval()
        batches = -(-latents // self.settings.batch_size)
        wplus = torch.cat([self.sample_wplus(HELD_OUT_STEP + k) for k in range(batches)])[:latents]
        self.latents_in_use = wplus
        try:
            kept = OriginalPass(self.G, wplus, frozen=True)  # the original latents' pass, once for every dose
            edited, original, mask, _ = self.render(wplus, None, kept)
            prompt, strength = self.edit.config.prompt, self.edit.config.strength
            before = self.guide.loss(original, prompt)
            gain = (before - self.guide.loss(edited, prompt)).mean().item()
            inside, outside = _change_in_out(edited, original, mask)
            # More of the same edit, only as far as an edit can go: a dose that moves the pixels in the mask
            # past RUNAWAY_CHANGE is no edit a prompt asks for (a guide that still gains there, as one with a
            # soft tail or a never-met part does, would make a met edit read as held back).
            more = []
            for dose in DOSES:
                dosed, _, dosed_mask, _ = self.render(wplus, dose * strength, kept)
                if _change_in_out(dosed, original, dosed_mask)[0] <= RUNAWAY_CHANGE:
                    more.append((before - self.guide.loss(dosed, prompt)).mean().item())
            # A dose whose image broke (inf or NaN) says nothing about what more of the edit gains.
            gain_more = max((g for g in more if math.isfinite(g)), default=None)
            restraint = self._restraint(wplus[:RESTRAINT_LATENTS])
        finally:
            self.edit.train(was_training)
        return Effect(gain, inside, outside, gain_more, restraint)

    def term_gradients(self, wplus: torch.Tensor) -> dict[str, tuple[float, float]]:
        """Each term's (weight as applied now, RMS of its weighted gradient on the mapped entries of Δ) for
        `wplus`: what pulls the edit which way. The mask terms (area, tv) have none on Δ."""
        terms = self.terms(wplus)
        start, end = self.edit.config.mapped_layers
        out = {}
        for name, value in terms.parts.items():
            if name == "total":
                continue
            weight, on_delta = terms.weights[name], 0.0
            if weight and value.requires_grad:
                (grad,) = torch.autograd.grad(weight * value, [terms.delta], retain_graph=True, allow_unused=True)
                on_delta = 0.0 if grad is None else grad[:, start:end].pow(2).mean().sqrt().item()
            out[name] = (weight, on_delta)
        return out

    def _restraint(self, wplus: torch.Tensor) -> dict[str, float] | None:
        """Each restraining term's share of what holds the edit back on `wplus` (their gradients' RMS on Δ,
        summed over batches of the training's size); None where none pulls."""
        pulls = dict.fromkeys(RESTRAINING, 0.0)
        with torch.enable_grad():
            for batch in wplus.split(self.settings.batch_size):
                gradients = self.term_gradients(batch)
                for name in RESTRAINING:
                    pulls[name] += gradients[name][1]
        total = sum(pulls.values())
        return {name: pull / total for name, pull in pulls.items()} if total > 0 else None

    @torch.no_grad()
    def preview(self) -> tuple[torch.Tensor, torch.Tensor]:
        self.edit.eval()
        wplus = self.G.to_wplus(self.G.mapping(self.preview_z, psi=self.settings.truncation))
        edited, _, mask, _ = self.render(wplus)
        return edited[0].clamp(-1, 1).cpu(), mask[0].cpu()

    # -- the loop ------------------------------------------------------------------------------

    def _finish(self) -> None:
        """Judge the finished run (unless its verdict is already known, as when resumed at its end), save it
        with the verdict (a failed edit is kept for a look, marked in training.json), and raise
        `TrainingFailed` if the edit is not usable."""
        if self.verdict is None:
            self.verdict = judge(self.health, self.effect(), self.step)
            if self.output_dir is not None:
                self.save()
        if not self.verdict.ok:
            raise TrainingFailed(self.verdict)

    def run(self, stop: threading.Event | None = None) -> Iterator[TrainProgress]:
        """Train until `settings.steps` or until `stop` is set; yields after every step."""
        total = self.settings.steps
        if self.step >= total:  # resumed at its end: the verdict is what the run ended with
            self._finish()
        try:
            while self.step < total:
                if stop is not None and stop.is_set():
                    break
                try:
                    losses = self.train_step()
                except TrainingFailed:  # broke: keep the last good weights, marked as failed in training.json
                    if self.output_dir is not None:
                        self.save()
                    raise
                skipped = bool(self.skipped_steps) and self.skipped_steps[-1] == self.step
                progress = TrainProgress(
                    self.step, total, losses, history=self.history, health=self.health, skipped=skipped
                )
                if self.step % self.preview_every == 0 or self.step == total:
                    progress.preview, progress.preview_mask = self.preview()
                if self.output_dir is not None and (self.step % self.checkpoint_every == 0 or self.step == total):
                    progress.checkpoint = self.save()
                progress.done = self.step == total
                if progress.done:
                    self._finish()
                yield progress
        finally:
            # Stopped early (event, or the consumer closed the generator): keep what was learned.
            if self.output_dir is not None and 0 < self.step < total and self.verdict is None:
                self.save()
            self.edit.eval()
