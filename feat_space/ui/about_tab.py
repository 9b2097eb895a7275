"""The About tab: the method in a few lines, the edits, and how to contribute one."""

from __future__ import annotations

import gradio as gr

from .context import AppContext

METHOD = """
### How it works

feat-space follows *FEAT: Face Editing with Attention* (Hou, Shen, Patashnik, Cohen-Or, Huang, 2022,
[arXiv:2202.02713](https://arxiv.org/abs/2202.02713)). Your photo is aligned like the FFHQ faces and
inverted into StyleGAN2's W+ space by an e4e encoder. Each edit is a small trained module with two parts:

- a **latent mapper** that says *what* changes: an offset to some W+ layers, steered toward a text prompt by CLIP;
- an **attention network** that says *where*: a mask read from the generator's own features.

The generator then runs twice, and at one layer the edited features are blended into the original ones
through the mask, so outside it nothing changes. Finally only the edited region is pasted back into your
photo. Training needs no data set: it samples faces from the generator and balances CLIP (toward the
prompt), ArcFace identity, a small latent offset and a small, smooth mask.
"""

CONTRIBUTE = """
### Contribute an edit

1. Train it: in the **Train** tab (or `python -m feat_space train --prompt "…" --region …` on your machine).
2. Publish the weights to your own Hugging Face account: **Publish to Hub** in the Train tab (on the Space,
   after signing in), or `python -m feat_space publish trained/<name> --repo <you>/feat-<name>`. This pins
   the upload's commit in the edit's YAML.
3. **Export YAML**, save it as `edits/<name>.yaml` in a fork of the repository, and open a pull request.
   CI checks it with `python -m feat_space edits check`. Entries without weights yet
   (`checkpoint: {status: unpublished}`) are welcome too: they appear here as “not trained yet”.
"""


def build_about_tab(ctx: AppContext) -> gr.HTML:
    """The tab; returns its catalogue of edits (cards), which a visitor's trained edits join."""
    profile = ctx.session.profile
    gr.Markdown(METHOD)
    gr.Markdown("### The edits\n\nPick them on the **Edit** tab; each is one small trained module.")
    gallery = gr.HTML(ctx.catalogue.gallery_html(None), elem_id="edit-gallery")
    gr.Markdown(CONTRIBUTE)
    gr.Markdown(
        f"### This server\n\nModel profile **{profile.name}**: {profile.description}. Device: "
        f"`{ctx.session.device}`. Up to {ctx.limits.gpu_slots} model jobs run at once, "
        f"{ctx.limits.queue_size} may wait in the queue; {ctx.limits.trainings} training at a time, "
        f"at most {ctx.limits.max_steps} steps."
    )
    return gallery
