"""The Train tab: a prompt and a region preset → a new edit, trained live, usable at once, exportable."""

from __future__ import annotations

import shutil
import time
import uuid
import zipfile
from dataclasses import dataclass

import gradio as gr
import pandas as pd
import yaml
from PIL import Image
from pydantic import ValidationError

from ..editing.recipe import REGION_PRESETS
from ..editing.storage import CONFIG_NAME, TRAINING_LOG, WEIGHTS_NAME
from ..errors import FeatError
from ..registry.drafts import DRAFT_NAME, entry_from_prompt, entry_yaml, slug, write_draft
from ..registry.publishing import Published, pin_in_registry, publish_edit
from ..registry.schema import EditEntry
from ..session import tensor_to_image
from ..training.losses import loss_weights
from ..training.settings import TrainingSettings
from ..training.trainer import Trainer
from ..weights.roles import ModelRole
from .catalogue import user_value
from .context import GPU, AppContext
from .errors import user_errors
from .spaces import gpu, oauth_enabled
from .state import TrainedEdit, Visitor

TRAIN_MODELS = (ModelRole.GENERATOR, ModelRole.ARCFACE, ModelRole.CLIP)
MAX_PLOT_POINTS = 300  # per loss: long runs are thinned so each update stays small
STREAM_EVERY = 0.5  # s: the fastest the status and plot are refreshed (previews and the end always are)
PREVIEW_SIDE = 256


@dataclass
class TrainTab:
    prompt: gr.Textbox
    name: gr.Textbox
    region: gr.Dropdown
    steps: gr.Slider
    base: gr.State  # the registry edit the form was filled from, if any
    start: gr.Button
    stop: gr.Button
    status: gr.Markdown
    plot: gr.LinePlot
    preview: gr.Image
    preview_mask: gr.Image
    mine: gr.Dropdown
    export: gr.Button
    yaml_text: gr.Code
    yaml_file: gr.DownloadButton
    weights_file: gr.DownloadButton
    repo: gr.Textbox | None
    publish: gr.Button | None
    publish_status: gr.Markdown


def recipe_label(entry: EditEntry) -> str:
    """The region choice that keeps a registry edit's own recipe."""
    return f"{entry.region} (recipe of {entry.name}.yaml)"


def region_choices(base: EditEntry | None = None) -> list[str]:
    presets = sorted(REGION_PRESETS)
    return [recipe_label(base), *presets] if base is not None else presets


def training_entry(
    ctx: AppContext, prompt: str, name: str | None, region: str, steps: int, base_name: str | None
) -> EditEntry:
    """The registry entry a training run produces: the base registry edit's (same prompt), else a new one."""
    prompt = (prompt or "").strip()
    if not prompt:
        raise FeatError("Write a prompt first, e.g. “a face with freckles”: it says what the edit should do.")
    if not 1 <= steps <= ctx.limits.max_steps:
        raise FeatError(f"Steps must be between 1 and {ctx.limits.max_steps} on this hardware.")
    base = ctx.registry.get(base_name) if base_name else None
    if base is not None and base.prompt == prompt:
        if region == recipe_label(base):
            recipe, region_name = base.recipe, base.region
        elif region in REGION_PRESETS:
            recipe, region_name = REGION_PRESETS[region], region
        else:
            raise FeatError("Choose a region preset from the list.")
        data = base.model_dump(mode="json")
        data.update(
            recipe=recipe.model_dump(mode="json"),
            region=region_name,
            training={**data["training"], "steps": steps},
            checkpoint={"status": "unpublished"},
        )
        if name and name.strip():
            data["name"] = slug(name)
    else:
        try:
            return entry_from_prompt(prompt, region, name=name, steps=steps, where="the feat-space app")
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
            raise FeatError(f"This edit cannot be set up: {problems}. Change the name or prompt.") from None
    try:
        return EditEntry.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise FeatError(f"This edit cannot be set up: {problems}. Change the name or prompt.") from None


def loss_frame(history: list[dict[str, float]], settings: TrainingSettings) -> pd.DataFrame:
    """Long-format weighted losses (what the total is made of) for the line plot, thinned for long runs."""
    stride = max(1, len(history) // MAX_PLOT_POINTS)
    picked = history[::stride]
    if picked and picked[-1] is not history[-1]:
        picked.append(history[-1])  # always show the latest step
    rows = []
    for record in picked:
        step = record["step"]
        rows.append({"step": step, "loss": "total", "value": record["total"]})
        for name, weight in loss_weights(settings).items():
            if name in record:
                rows.append({"step": step, "loss": name, "value": record[name] * weight})
    # Typed even when empty: the plot takes "loss" as categories (one line each) only if it is text.
    frame = pd.DataFrame(rows, columns=["step", "loss", "value"])
    return frame.astype({"step": "int64", "loss": "string", "value": "float64"})


def _mask_image(mask, side: int) -> Image.Image:
    pixels = mask[0].clamp(0, 1).mul(255).round().byte().cpu().numpy()
    return Image.fromarray(pixels, "L").resize((side, side), Image.Resampling.BILINEAR)


def publish_trained(trained: TrainedEdit, repo_id: str, token: str) -> Published:
    """Upload a visitor's trained edit with *their* token and pin its draft to the new commit."""
    published = publish_edit(trained.folder, repo_id, token, name=trained.name)
    draft = pin_in_registry(trained.folder / DRAFT_NAME, published)
    trained.entry = EditEntry.model_validate(yaml.safe_load(draft.read_text()))
    return published


def _trained(ctx: AppContext, key: str | None, visitor: Visitor | None) -> TrainedEdit:
    trained = visitor.trained.get(key) if visitor and key else None
    if trained is None:
        raise FeatError("Train an edit first (above): exporting and publishing work on the edits you trained here.")
    return trained


def make_train_handler(ctx: AppContext, edit_choices: gr.CheckboxGroup, gallery: gr.HTML):
    session = ctx.session

    @gpu(duration=300)
    @user_errors
    def train(
        prompt: str,
        name: str | None,
        region: str,
        steps: float,
        base: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's way to ask for progress
    ):
        steps = int(steps)
        entry = training_entry(ctx, prompt, name, region, steps, base)
        visitor = ctx.visitors.get(request)
        with visitor.lock:
            if visitor.training:
                raise FeatError("An edit is already training in this tab. Stop it, or wait for it to finish.")
            if visitor.closed:
                raise FeatError("This tab's session has ended: reload the page to train an edit.")
            visitor.training = True
            visitor.stop.clear()  # under the lock: a `close` after this point still stops the training
        try:
            if not ctx.training_slots.acquire(blocking=False):
                raise FeatError(
                    "Another visitor is training an edit right now, and this hardware trains one at a time. Try "
                    "again in a few minutes, or train on your own machine: "
                    f'python -m feat_space train --prompt "{entry.prompt}" --region "{entry.region}".'
                )
            try:
                yield from _run(entry, visitor, progress)
            finally:
                ctx.training_slots.release()
        finally:
            with visitor.lock:
                visitor.training = False
                closed = visitor.closed
            if closed:  # the tab closed (or was dropped) while training: its files were left for us to delete
                shutil.rmtree(visitor.root, ignore_errors=True)

    def _run(entry: EditEntry, visitor: Visitor, progress: gr.Progress):
        notice = f"⚠️ **{ctx.notice}**\n\n" if ctx.notice else ""
        skip = gr.skip()
        ctx.ensure_models(TRAIN_MODELS, progress)
        G = session.generator
        config = entry.recipe.config_for(G, entry.prompt, strength=entry.defaults.strength)
        settings = entry.training
        # A fresh folder each run: retraining an edit keeps the old one, files and all, until this run has a step.
        folder = visitor.root / "edits" / f"{entry.name}-{uuid.uuid4().hex[:8]}"
        folder.mkdir(parents=True)
        try:
            write_draft(folder, entry)
            trainer = Trainer(
                G,
                guide=session.clip,
                arcface=session.arcface,
                config=config,
                settings=settings,
                output_dir=folder,
                preview_every=max(1, settings.steps // 20),
                checkpoint_every=max(200, settings.steps),
            )
            progress((0, settings.steps), desc="First step", unit="steps")
            yield f"{notice}Training “{entry.prompt}” ({settings.steps} steps)…", skip, skip, skip, skip, skip, skip
            started = time.monotonic()
            last_yield = 0.0
            for p in trainer.run(visitor.stop):
                elapsed = time.monotonic() - started
                left = elapsed / p.step * (p.total - p.step)
                progress((p.step, p.total), desc=f"Training “{entry.prompt}”", unit="steps")
                now = time.monotonic()
                if p.preview is None and not p.done and now - last_yield < STREAM_EVERY:
                    continue
                last_yield = now
                status = (
                    f"{notice}Training “{entry.prompt}”: step **{p.step}/{p.total}** · total loss "
                    f"{p.losses['total']:.4f} · {elapsed / p.step:.2f} s/step · about {_duration(left)} left. "
                    "**Stop** keeps what is learned."
                )
                if p.health is not None:
                    status += f"\n\nMask: {p.health.status}, {p.health.mask_mean:.0%} of the face."
                    if p.health.warning:
                        status += f" ⚠️ {p.health.warning}"
                preview = (
                    tensor_to_image(p.preview).resize((PREVIEW_SIDE, PREVIEW_SIDE)) if p.preview is not None else skip
                )
                mask = _mask_image(p.preview_mask, PREVIEW_SIDE) if p.preview_mask is not None else skip
                yield status, loss_frame(p.history, settings), preview, mask, skip, skip, skip
        except BaseException:  # failed, or the stream was closed: an edit of this name stays as it was
            shutil.rmtree(folder, ignore_errors=True)
            raise
        done = trainer.step
        if done == 0:
            shutil.rmtree(folder, ignore_errors=True)
            yield f"{notice}Stopped before the first step finished: nothing was trained.", *[skip] * 6
            return
        if trainer.health is not None and not trainer.health.ok:  # stopped while the mask was failing
            shutil.rmtree(folder, ignore_errors=True)
            yield f"{notice}Stopped at step {done}, but the edit is not usable: {trainer.health.warning}", *[skip] * 6
            return
        key = user_value(entry.name)
        # Retrained: the new edit replaces the old one (moving to the end), whose files go only now.
        old = visitor.add(TrainedEdit(key=key, entry=entry, folder=folder, steps_done=done))
        if old is not None:
            shutil.rmtree(old.folder, ignore_errors=True)
        how = "Trained" if done == settings.steps else f"Stopped at step {done} of {settings.steps};"
        status = (
            f"{notice}**Done.** {how} “{entry.title}” is ready: it is in your edits on the **Edit** tab as "
            f"“★ {entry.title}” (for this browser tab only). Export its YAML or publish it below."
        )
        if trainer.health is not None:
            status += f" Its mask covers {trainer.health.mask_mean:.0%} of the face (moving average at the end)."
        mine = gr.Dropdown(choices=[(t.entry.title, t.key) for t in visitor.edits()], value=key)
        yield (
            status,
            loss_frame(trainer.history, settings),
            skip,
            skip,
            gr.CheckboxGroup(choices=ctx.catalogue.choices(visitor)),
            ctx.catalogue.gallery_html(visitor),
            mine,
        )

    return train


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def build_train_tab(ctx: AppContext) -> TrainTab:
    tiny = not ctx.session.profile.trained
    gr.Markdown(
        "Describe a change in words; the app trains a small FEAT module (a latent mapper and an attention mask) "
        "for it. Pick the region preset that fits: it chooses which generator layers change and where blending "
        "happens. No data set is needed."
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            prompt = gr.Textbox(label="Prompt", placeholder="a face with freckles", elem_id="train-prompt")
            name = gr.Textbox(label="Name (optional)", placeholder="Freckles")
            region = gr.Dropdown(choices=region_choices(), value="mouth", label="Region preset")
            default_steps = min(10 if tiny else 2000, ctx.limits.max_steps)
            steps = gr.Slider(1, ctx.limits.max_steps, value=default_steps, step=1, label="Steps")
            base = gr.State(None)
            with gr.Row():
                start = gr.Button("Start training", variant="primary")
                stop = gr.Button("Stop", variant="stop")
        with gr.Column(scale=6):
            status = gr.Markdown(f"⚠️ **{ctx.notice}**" if ctx.notice else "")
            plot = gr.LinePlot(
                None,  # not an empty frame: Gradio 6 then draws no lines for later updates
                x="step",
                y="value",
                color="loss",
                title="Weighted losses",
                height=260,
            )
            with gr.Row():
                preview = gr.Image(label="Preview: a sampled face, edited", interactive=False, format="png")
                preview_mask = gr.Image(label="Its attention mask", interactive=False, format="png")
    with gr.Accordion("Your trained edits: export or publish", open=True):
        mine = gr.Dropdown(choices=[], label="Trained edit", interactive=True)
        with gr.Row():
            export = gr.Button("Export YAML (for a pull request)")
            yaml_file = gr.DownloadButton("Download the YAML", visible=False)
            weights_file = gr.DownloadButton("Download the weights (zip)", visible=False)
        yaml_text = gr.Code(label="edits/<name>.yaml", language="yaml", visible=False, interactive=False)
        repo = publish = None
        if oauth_enabled():
            gr.Markdown("Publish to the Hugging Face Hub **under your own account**: sign in, then publish.")
            with gr.Row():
                gr.LoginButton()
                repo = gr.Textbox(label="Model repo", placeholder="your-name/feat-freckles (default)")
                publish = gr.Button("Publish to Hub")
        else:
            gr.Markdown(
                "**Publish to Hub** needs “Sign in with Hugging Face”, which this app offers when it runs as a "
                "Hugging Face Space; it never uses the server's own token. Here, download the weights and publish "
                "them with your own token: `python -m feat_space publish <folder> --repo <you>/feat-<name>`."
            )
        publish_status = gr.Markdown()
    return TrainTab(
        prompt,
        name,
        region,
        steps,
        base,
        start,
        stop,
        status,
        plot,
        preview,
        preview_mask,
        mine,
        export,
        yaml_text,
        yaml_file,
        weights_file,
        repo,
        publish,
        publish_status,
    )


def wire_train_tab(ctx: AppContext, tab: TrainTab, edit_choices: gr.CheckboxGroup, gallery: gr.HTML) -> None:
    tab.start.click(
        make_train_handler(ctx, edit_choices, gallery),
        inputs=[tab.prompt, tab.name, tab.region, tab.steps, tab.base],
        outputs=[tab.status, tab.plot, tab.preview, tab.preview_mask, edit_choices, gallery, tab.mine],
        api_name="train",
        api_description=(
            f"Train an edit from a prompt, streaming progress; it is then usable in /edit as {user_value('<name>')}."
        ),
        concurrency_id=GPU,
        concurrency_limit=ctx.limits.gpu_slots,
    )

    @user_errors
    def stop_training(request: gr.Request) -> str:
        visitor = ctx.visitors.peek(request)
        if visitor is None or not visitor.training:
            return "Nothing is training in this tab."
        visitor.stop.set()
        return "Stopping after the current step; what was learned so far is kept."

    # Not in the GPU group: it must get through while this visitor's training holds a slot.
    tab.stop.click(stop_training, None, tab.publish_status, api_name="stop_training", concurrency_limit=None)

    @user_errors
    def export_yaml(key: str | None, request: gr.Request):
        visitor = ctx.visitors.peek(request)
        trained = _trained(ctx, key, visitor)
        assert visitor is not None  # _trained found its edit
        text = entry_yaml(trained.entry)
        out = visitor.root / "exports" / trained.name
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{trained.name}.yaml").write_text(text)
        archive = out / f"feat-{trained.name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for file in (CONFIG_NAME, WEIGHTS_NAME, TRAINING_LOG, DRAFT_NAME):
                if (trained.folder / file).is_file():
                    z.write(trained.folder / file, f"{trained.name}/{file}")
        return (
            gr.Code(value=text, visible=True, label=f"edits/{trained.name}.yaml"),
            gr.DownloadButton(value=str(out / f"{trained.name}.yaml"), visible=True),
            gr.DownloadButton(value=str(archive), visible=True),
        )

    tab.export.click(
        export_yaml,
        [tab.mine],
        [tab.yaml_text, tab.yaml_file, tab.weights_file],
        api_name="export_yaml",
        concurrency_limit=None,
    )

    if tab.publish is not None and tab.repo is not None:

        @user_errors
        def publish(
            key: str | None,
            repo: str | None,
            request: gr.Request,
            oauth_token: gr.OAuthToken | None,
            profile: gr.OAuthProfile | None,
            progress: gr.Progress = gr.Progress(),  # noqa: B008
        ) -> str:
            # Only the visitor's own OAuth token is ever used: never HF_TOKEN or the Space's secrets.
            if oauth_token is None or profile is None:
                raise FeatError("Sign in with Hugging Face first (the button above): the edit goes to your account.")
            trained = _trained(ctx, key, ctx.visitors.peek(request))
            repo_id = (repo or "").strip() or f"{profile.username}/feat-{trained.name}"
            progress(0.1, desc=f"Uploading to {repo_id}")
            published = publish_trained(trained, repo_id, oauth_token.token)
            return (
                f"**Published** to [{published.repo_id}]({published.url}) at commit `{published.revision[:12]}`. "
                f"**Export YAML** now pins this commit: add it as `edits/{trained.name}.yaml` in a pull request."
            )

        tab.publish.click(publish, [tab.mine, tab.repo], tab.publish_status, api_name="publish", concurrency_limit=4)
