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

# The short form of CONTRIBUTING.md (tests/test_contributing.py keeps the steps and commands the same).
CONTRIBUTE = """
### Contribute an edit

Edits come in by pull request: one YAML file in `edits/`, the weights on your own Hugging Face account.
The whole guide is CONTRIBUTING.md in the repository.

1. **Choose the prompt and the preset**: describe the result on a face ("a face with freckles"); the
   **Train** tab suggests a preset from its words (`feat-space train --help` lists them).
2. **Train it** with the real models: in the **Train** tab (on a Space, signed in, also on Hugging Face
   Jobs with your account), on your GPU with `feat-space train --prompt "…" --name <name>`, or on Jobs with
   `feat-space train edits/<name>.yaml --on hf-jobs --publish <you>/feat-<name>`.
3. **Publish the weights**: **Publish to Hub** in the Train tab (on the Space, after signing in), or
   `feat-space publish trained/<name> --repo <you>/feat-<name>`. This pins the upload's commit in the YAML.
4. **The YAML**: **Export YAML**, saved as `edits/<name>.yaml`; its `checkpoint.revision` is a full
   40-character commit, never a branch. Entries without weights yet (`status: unpublished`) are welcome
   too: they appear here as “not trained yet”.
5. **Check it yourself, then open the pull request**: `feat-space edits check` and
   `feat-space edits verify <name>`, then a pull request with the YAML only.

**What the checks do**: CI runs the tests and `feat-space edits check`; for a changed edit,
`feat-space edits verify --changed` downloads the pinned checkpoint, checks its sha256, loads it without
running code, compares it with the YAML's recipe, runs it on two sample photos at strengths 0.5, 1 and 1.5,
and comments on the pull request with a contact sheet and the numbers (mask share, change inside and
outside the mask, identity, time).

**What reviewers look for**: the edit the title promises on both photos; a local change (much more
inside the mask than outside); the same person at strength 1; 0.5 subtle, 1 clear, 1.5 strong but not
broken. Once merged, the Space is updated with it.
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
