"""The Train tab's layout and wiring: a prompt and a region preset → a new edit, trained here or on
Hugging Face Jobs, watched live, usable at once, exportable.

The handlers live beside it: the form (`training_form`), training here (`training_local`), on Jobs
(`training_remote`), what is shown of a run (`training_view`), export and publishing (`training_export`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from ..editing.ranges import THRESHOLD
from ..editing.recipe import DEFAULT_PRESET
from ..hosting.spaces import oauth_enabled
from ..jobs.spec import DEFAULT_FLAVOR, FLAVORS
from ..training.settings import DEFAULT_STEPS
from .context import GPU, AppContext
from .sliders import range_slider
from .training_export import make_export_handler, make_publish_handler, make_stop_handler
from .training_form import preset_help, presets_table, recipe_label, region_choices, suggested_region
from .training_local import make_local_handler
from .training_remote import make_jobs_handler
from .training_view import LOSS_PANELS, LocalSpeed, panel_title

HERE = "Here (this machine)"
ON_JOBS = "Hugging Face Jobs (a GPU on your account)"

__all__ = ["TrainTab", "build_train_tab", "recipe_label", "region_choices", "wire_train_tab"]


@dataclass
class TrainTab:
    prompt: gr.Textbox
    name: gr.Textbox
    region: gr.Dropdown
    chosen_by_hand: gr.State  # the visitor picked a preset: typing no longer changes it
    help: gr.Markdown
    steps: gr.Slider
    threshold: gr.Slider
    base: gr.State  # the registry edit the form was filled from, if any
    where: gr.Radio | None
    flavor: gr.Dropdown | None
    estimate: gr.Markdown
    timer: gr.Timer
    start: gr.Button
    start_jobs: gr.Button | None
    stop: gr.Button
    feedback: gr.Markdown
    plots: list[gr.LinePlot]
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
    speed: LocalSpeed
    export_status: gr.Markdown


def build_train_tab(ctx: AppContext) -> TrainTab:
    tiny = not ctx.session.profile.trained
    jobs = oauth_enabled()
    speed = LocalSpeed(ctx)
    on_cpu = not speed.on_gpu
    gr.Markdown(
        "Describe a change in words; the app trains a small FEAT module (a latent mapper and an attention mask) "
        "for it. No data set is needed. The region preset decides which generator layers change and where the "
        "result is blended in: one is suggested from your prompt's words, and you can pick another."
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=300):
            prompt = gr.Textbox(label="Prompt", placeholder="a face with freckles", elem_id="train-prompt")
            name = gr.Textbox(label="Name (optional)", placeholder="Freckles")
            region = gr.Dropdown(
                choices=region_choices(), value=DEFAULT_PRESET, label="Region preset", elem_id="train-region"
            )
            chosen_by_hand = gr.State(False)
            help_text = gr.Markdown(preset_help(DEFAULT_PRESET, ""), elem_id="train-preset-help")
            with gr.Accordion("What the presets do", open=False):
                gr.Markdown(presets_table())
            default_steps = min(10 if tiny else DEFAULT_STEPS, ctx.limits.max_steps)
            steps = gr.Slider(1, ctx.limits.max_steps, value=default_steps, step=1, label="Steps")
            threshold = range_slider(
                THRESHOLD,
                label="Mask threshold",
                info="Below it nothing changes; the preview and the exported YAML use it.",
            )
            base = gr.State(None)
            where = flavor = None
            if jobs:
                where = gr.Radio(
                    [HERE, ON_JOBS],
                    value=ON_JOBS if on_cpu else HERE,
                    label="Where to train",
                    info="A job runs on your Hugging Face account, billed to it: sign in first.",
                )
                gr.LoginButton()  # one for the job and for publishing below
                flavor = gr.Dropdown(list(FLAVORS), value=DEFAULT_FLAVOR, label="GPU for the job", visible=on_cpu)
            # Refreshed when each page opens (`wire_train_tab`), not only as it was when the app was built.
            estimate = gr.Markdown(speed.text(default_steps, jobs), elem_id="train-estimate")
            with gr.Row(elem_id="train-buttons"):
                start = gr.Button("Start training", variant="primary", visible=not (jobs and on_cpu))
                start_jobs = (
                    gr.Button("Start on Hugging Face Jobs", variant="primary", visible=on_cpu) if jobs else None
                )
                stop = gr.Button("Stop", variant="stop")
            feedback = gr.Markdown("", elem_id="train-feedback")  # the untrained models' notice is the page's
            # Started when the tab is opened (`wire_train_tab`), not at page load: most visitors only edit.
            timer = gr.Timer(2.0, active=False)
        with gr.Column(scale=6, min_width=300):
            plots = []
            with gr.Row():
                for loss in LOSS_PANELS:
                    # One panel per term, each on its own scale: small terms stay readable next to CLIP.
                    plots.append(
                        gr.LinePlot(None, x="step", y="value", title=panel_title(loss), height=150, min_width=180)
                    )
            with gr.Row():
                preview = gr.Image(
                    label="Sampled face, edited", interactive=False, format="png", min_width=160, height=256
                )
                preview_mask = gr.Image(
                    label="Its mask (at the threshold)", interactive=False, format="png", min_width=160, height=256
                )
    with gr.Accordion("Your trained edits: export or publish", open=True):
        mine = gr.Dropdown(choices=[], label="Trained edit", interactive=True)
        with gr.Row():
            export = gr.Button("Export YAML (for a pull request)")
            export_status = gr.Markdown(elem_id="train-export-status")
            yaml_file = gr.DownloadButton("Download the YAML", visible=False)
            weights_file = gr.DownloadButton("Download the weights (zip)", visible=False)
        yaml_text = gr.Code(label="edits/<name>.yaml", language="yaml", visible=False, interactive=False)
        repo = publish = None
        if jobs:
            gr.Markdown(
                "Publish to the Hugging Face Hub **under your own account**: sign in (the button above), then publish."
            )
            with gr.Row():
                repo = gr.Textbox(label="Model repo", placeholder="your-name/feat-freckles (default)")
                publish = gr.Button("Publish to Hub")
        else:
            gr.Markdown(
                "**Publish to Hub** and **training on Hugging Face Jobs** need “Sign in with Hugging Face”, which this "
                "app offers when it runs as a Hugging Face Space; it never uses the server's own token. Here, download "
                "the weights and publish them with your own token: `python -m feat_space publish <folder> --repo "
                "<you>/feat-<name>`, or train on a GPU from your machine with `--on hf-jobs`."
            )
        publish_status = gr.Markdown()
    return TrainTab(
        prompt,
        name,
        region,
        chosen_by_hand,
        help_text,
        steps,
        threshold,
        base,
        where,
        flavor,
        estimate,
        timer,
        start,
        start_jobs,
        stop,
        feedback,
        plots,
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
        speed,
        export_status,
    )


def wire_train_tab(
    ctx: AppContext,
    tab: TrainTab,
    edit_choices: gr.CheckboxGroup,
    gallery: gr.HTML,
    shown: gr.Tab,
    page: gr.Blocks,
) -> list[Any]:
    """`shown`: the tab holding the Train tab's layout; opening it starts the CPU speed probe. `page`:
    the app, whose every page load gets the estimate as it is then.

    Returns the training events (here, and on Jobs where offered), for what follows a training."""
    jobs_offered = tab.where is not None
    form = [tab.prompt, tab.name, tab.region, tab.steps, tab.base, tab.threshold]
    outputs = [tab.feedback, *tab.plots, tab.preview, tab.preview_mask, edit_choices, gallery, tab.mine]

    # The preset follows the prompt's words until the visitor picks one.
    def on_prompt(prompt: str, region: str, by_hand: bool):
        chosen = suggested_region(prompt, region, by_hand)
        return chosen, preset_help(chosen, prompt)

    # `change`, not `input`: a prompt filled in by "Train this edit" keeps that edit's own recipe
    # (`suggested_region` leaves a non-preset choice alone).
    tab.prompt.change(
        on_prompt,
        [tab.prompt, tab.region, tab.chosen_by_hand],
        [tab.region, tab.help],
        queue=False,
        api_visibility="private",
    )
    tab.region.input(
        lambda region, prompt: (True, preset_help(region, prompt)),
        [tab.region, tab.prompt],
        [tab.chosen_by_hand, tab.help],
        queue=False,
        api_visibility="private",
    )

    def estimate(steps: float, request: gr.Request) -> str:
        return tab.speed.text(int(steps), jobs_offered, ctx.visitors.peek(request))

    tab.steps.change(estimate, [tab.steps], [tab.estimate], queue=False, api_visibility="private")

    def opened(steps: float, request: gr.Request):
        # The estimate as it is now (another page's probe or training may have timed steps since), and
        # the timer that refreshes it while a measurement is due or under way.
        return estimate(steps, request), gr.Timer(active=tab.speed.measuring)

    def tick(steps: float, request: gr.Request):
        tab.speed.start()
        return opened(steps, request)

    shown.select(
        opened,
        [tab.steps],
        [tab.estimate, tab.timer],
        queue=False,
        api_name="open_train_tab",
        api_visibility="private",
    )
    tab.timer.tick(tick, [tab.steps], [tab.estimate, tab.timer], api_visibility="private", show_progress="hidden")
    page.load(estimate, [tab.steps], [tab.estimate], queue=False, api_visibility="private")

    trainings: list[Any] = []
    trained_here = tab.start.click(
        make_local_handler(ctx, tab.speed),
        inputs=form,
        outputs=outputs,
        api_name="train",
        # The page's own event (it updates the tab's plots, previews and lists): not offered to API clients.
        api_visibility="undocumented",
        concurrency_id=GPU,
        concurrency_limit=ctx.limits.gpu_slots,
    )
    trainings.append(trained_here)
    if tab.start_jobs is not None and tab.where is not None and tab.flavor is not None:
        # Waiting on a remote job uses no GPU here: not in the GPU group.
        trained_on_jobs = tab.start_jobs.click(
            make_jobs_handler(ctx),
            inputs=[*form, tab.flavor],
            outputs=outputs,
            api_name="train_on_jobs",
            api_visibility="undocumented",
            concurrency_limit=8,
        )
        trainings.append(trained_on_jobs)

        def where_changed(where: str):
            jobs = where == ON_JOBS
            return gr.Button(visible=not jobs), gr.Button(visible=jobs), gr.Dropdown(visible=jobs)

        tab.where.change(
            where_changed, [tab.where], [tab.start, tab.start_jobs, tab.flavor], queue=False, api_visibility="private"
        )

    # Not in the GPU group: it must get through while this visitor's training holds a slot. Its answer
    # shows beside the buttons, where the training's own feedback is.
    tab.stop.click(
        make_stop_handler(ctx),
        None,
        tab.feedback,
        api_name="stop_training",
        api_visibility="undocumented",
        concurrency_limit=None,
    )

    tab.export.click(
        make_export_handler(ctx),
        [tab.mine, tab.threshold],
        [tab.yaml_text, tab.yaml_file, tab.weights_file, tab.export_status],
        api_name="export_yaml",
        api_visibility="undocumented",
        concurrency_limit=None,
    )

    if tab.publish is not None and tab.repo is not None:
        tab.publish.click(
            make_publish_handler(ctx),
            [tab.mine, tab.repo],
            tab.publish_status,
            api_name="publish",
            api_visibility="undocumented",
            concurrency_limit=4,
        )
    return trainings
