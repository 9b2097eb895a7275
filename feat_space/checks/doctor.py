"""`feat-space doctor`: one run that checks a profile's models, their balance in training and the GPU,
and says plainly what is right and what is not (`report.md` + `contact-sheet.png` in `out`).

Steps, each a list of `Finding`s (a failure names what is wrong and what to do):
1. model files: every file downloaded or found in the cache, its sha256 against the pin; an unpinned
   file's commit, digest and size with the command that pins it (`checks.model_files`);
2. layout: each checkpoint's keys, shapes and dtypes against what its loader expects, before loading
   (`checks.layout`);
3. loading: the session's models, each on its own;
4. reconstruction: the sample photos aligned, inverted and rendered; PSNR and identity against the aligned
   face, and whether the encoder belongs to the generator (`checks.reconstruction`);
5. edits: every registry edit with a published checkpoint, on the sample photos (mask share, change inside
   and outside: `checks.edit_sheet`); the tiny profile runs one untrained demo edit instead;
6. balance probe: each loss term's gradient on the latent offset for one shipped prompt (`training.balance`);
7. cuda: on a CUDA device, the environment, the kernels against their PyTorch paths (`checks.cuda_ops`)
   and a synthesis timing.

`quick=True` (what a training job runs before its first step) stops after the model files, layouts and
the CUDA checks. Steps after a failed one that they depend on are skipped, saying why.
"""

from __future__ import annotations

import math
import platform
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from ..errors import FeatError, first_line
from ..guidance.clip import ClipSpec
from ..registry.registry import load_published_edit, load_registry
from ..registry.schema import EditEntry, Published
from ..session import Session
from ..weights.download import UnpinnedSourceWarning
from ..weights.profiles import Profile, get_profile
from ..weights.roles import ROLES, ModelRole
from . import cuda_ops
from .edit_sheet import EditMeasurement, contact_sheet, measure_edit, sample_photos
from .findings import FAIL, INFO, OK, SKIP, Finding
from .layout import check_layouts
from .model_files import check_model_files
from .reconstruction import Reconstruction, Thresholds, check_reconstruction

DEFAULT_OUT = Path("doctor-report")
REPORT_NAME = "report.md"
SHEET_NAME = "contact-sheet.png"
PROBE_STEPS = 3  # enough to see each term's gradient move; seconds on a GPU, about a minute on a CPU


@dataclass
class DoctorReport:
    profile: str
    device: str
    findings: list[Finding] = field(default_factory=list)
    reconstructions: list[Reconstruction] = field(default_factory=list)
    edits: list[EditMeasurement] = field(default_factory=list)
    probe_markdown: str = ""
    notice: str | None = None
    started: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    files: list[Path] = field(default_factory=list)
    session: Session | None = field(default=None, repr=False)  # the loaded models, when the deep checks ran

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        if self.ok:
            return f"doctor: all checks passed ({len(self.findings)} findings, profile {self.profile}, {self.device})"
        return f"doctor: {len(self.failures)} problem(s) found (profile {self.profile}, {self.device}); see above"

    def markdown(self) -> str:
        lines = [
            "# feat-space doctor",
            "",
            f"Profile **{self.profile}**, device {self.device}, torch {torch.__version__} "
            f"(CUDA {torch.version.cuda or 'none'}), Python {platform.python_version()}; {self.started}.",
            "",
        ]
        if self.notice:
            lines += [f"> {self.notice}", ""]
        lines += ["**All checks passed.**" if self.ok else f"**{len(self.failures)} problem(s).**", ""]
        if self.failures:
            lines += ["## What to do", ""]
            lines += [
                f"- **{f.step} / {f.subject}**: {f.text}" + (f" → {f.fix}" if f.fix else "") for f in self.failures
            ]
            lines.append("")
        lines += ["## Findings", "", "| status | step | what | finding |", "| --- | --- | --- | --- |"]
        for f in self.findings:
            text = f.text + (f" → {f.fix}" if f.fix else "")
            lines.append(f"| {f.status} | {f.step} | {f.subject} | {text.replace('|', '/')} |")
        for m in self.edits:
            lines += ["", f"## Edit `{m.name}` (threshold {m.threshold:g})", "", m.table()]
        if self.probe_markdown:
            lines += ["", "## Balance probe", "", self.probe_markdown]
        if self.files:
            lines += ["", "Files: " + ", ".join(f"`{p.name}`" for p in self.files)]
        return "\n".join(lines) + "\n"


def run_doctor(
    profile: Profile | str | None = None,
    *,
    out: str | Path = DEFAULT_OUT,
    quick: bool = False,
    photos: Sequence[Path] | None = None,
    session: Session | None = None,
    judge_quality: bool | None = None,
    thresholds: Thresholds | None = None,
    probe_steps: int = PROBE_STEPS,
    unpinned_ok: bool = False,
    echo: Callable[[str], None] = lambda line: None,
) -> DoctorReport:
    """Run the checks (module docstring) and write the report into `out`. `session`: reuse a loaded one
    (the app's), else one is made for `profile`. `judge_quality`: hold the reconstruction to `thresholds`
    (default: only when the profile's models are trained). `unpinned_ok`: an unpinned model file is
    reported, not a failure (a training job cannot pin). `echo` gets each finding's line as it comes."""
    profile = session.profile if session is not None else profile
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    device = session.device if session is not None else _device()
    report = DoctorReport(profile.name, _describe(device), notice=profile.notice)

    def add(findings: list[Finding]) -> list[Finding]:
        for f in findings:
            report.findings.append(f)
            echo(f.line())
        return findings

    echo(
        f"doctor: profile {profile.name}, torch {torch.__version__} (CUDA {torch.version.cuda}), device {report.device}"
    )
    if report.notice:
        echo(report.notice)
    file_findings, paths = check_model_files(profile, unpinned_ok=unpinned_ok)
    add(file_findings)
    clip_spec = _clip_spec(profile) if ModelRole.CLIP in paths else None
    layouts = add(check_layouts(paths, clip_spec))
    broken = {f.subject for f in layouts if f.status == FAIL}
    missing = [role for role in ROLES if role not in paths]
    if not quick:
        if missing or broken:
            why = ", ".join([*(r.value for r in missing), *sorted(broken)])
            add([Finding("loading", "models", SKIP, f"not run: fix the model files above first ({why})")])
        else:
            _deep_checks(report, add, profile, session, device, photos, judge_quality, thresholds, probe_steps)
    try:
        add(_cuda_checks(device, None if quick else report.session))
    except Exception as e:  # e.g. the device itself failing: named, and the report still written
        add([Finding("cuda", "device", FAIL, _what(e), fix="check the driver and torch's CUDA (the line above)")])
    _write(report, Path(out))
    return report


def _deep_checks(
    report: DoctorReport,
    add: Callable[[list[Finding]], list[Finding]],
    profile: Profile,
    session: Session | None,
    device: torch.device,
    photos: Sequence[Path] | None,
    judge_quality: bool | None,
    thresholds: Thresholds | None,
    probe_steps: int,
) -> None:
    session = report.session = session or Session(profile, device=device)
    loaded = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnpinnedSourceWarning)  # already a finding of the model files step
        for role in ROLES:
            start = time.perf_counter()
            try:
                session.load([role])
            except Exception as e:  # a FeatError says what to do; anything else (out of memory...) is named
                add([Finding("loading", role.value, FAIL, _what(e), fix="see the layout line of this model")])
                continue
            loaded.append(role)
            seconds = time.perf_counter() - start
            add([Finding("loading", role.value, OK, f"loaded on {session.device} in {seconds:.1f} s")])
    if len(loaded) < len(ROLES):
        add([Finding("reconstruction", "photos", SKIP, "not run: a model did not load")])
        return
    try:
        photo_paths = list(photos) if photos is not None else sample_photos()
    except FeatError as e:
        add([Finding("reconstruction", "photos", FAIL, str(e))])
        return
    judge = profile.trained if judge_quality is None else judge_quality
    steps: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("reconstruction", lambda: _reconstruction(report, session, photo_paths, thresholds or Thresholds(), judge)),
        ("edits", lambda: _edit_checks(report, session, profile, photo_paths)),
        ("balance probe", lambda: _probe(report, session, probe_steps)),
    ]
    for step, run in steps:
        try:
            add(run())
        except Exception as e:  # a step that breaks is a finding; the report is still written
            add([Finding(step, "step", FAIL, _what(e), fix="report this line with the log")])


def _what(error: BaseException) -> str:
    return str(error) if isinstance(error, FeatError) else f"{type(error).__name__}: {first_line(error)}"


def _reconstruction(
    report: DoctorReport, session: Session, photos: list[Path], thresholds: Thresholds, judge: bool
) -> list[Finding]:
    findings, report.reconstructions = check_reconstruction(session, photos, thresholds, judge_quality=judge)
    return findings


def _edit_checks(report: DoctorReport, session: Session, profile: Profile, photos: list[Path]) -> list[Finding]:
    try:
        entries = list(load_registry().values())
    except FeatError as e:
        return [Finding("edits", "registry", FAIL, str(e), fix="`feat-space edits check` lists each problem")]
    published = [e for e in entries if isinstance(e.checkpoint, Published)]
    findings = []
    if not published:
        findings.append(
            Finding("edits", "registry", INFO, f"none of the {len(entries)} shipped edits has a checkpoint yet")
        )
    runs: list[tuple[EditEntry, Callable]] = [(e, lambda e=e: load_published_edit(e)) for e in published]
    if not profile.trained and entries and not published:
        from ..registry.demo import demo_edit

        first = entries[0]  # one untrained demo edit exercises the path; random models judge nothing
        runs = [(first, lambda: demo_edit(first, session.generator))]
    for entry, load in runs:
        label = entry.name if entry in published else f"{entry.name} (untrained demo edit)"
        try:
            edit = load().to(session.device)
            defaults = entry.defaults
            m = measure_edit(
                session, edit, photos, strengths=(defaults.strength,), threshold=defaults.mask_threshold, name=label
            )
        except Exception as e:  # one edit failing is a finding; the others still run
            findings.append(Finding("edits", label, FAIL, f"{type(e).__name__}: {first_line(e)}"))
            continue
        report.edits.append(m)
        for p in m.photos:
            s = p.strengths[0]
            numbers = {"mask_share": p.mask_share, "inside": s.change_inside, "outside": s.change_outside}
            text = (
                f"{p.photo}: mask {p.mask_share:.1%} of the face, change inside {s.change_inside:.1f} / "
                f"outside {s.change_outside:.2f} (0-255 levels), identity {s.identity:.3f}"
            )
            if not all(math.isfinite(v) for v in numbers.values()):
                findings.append(Finding("edits", label, FAIL, text + ": not finite", fix="retrain or republish it"))
            elif entry in published and profile.trained and s.change_inside <= s.change_outside:
                fix = "the edit is not local on these weights: retrain it (`feat-space train edits/<name>.yaml`)"
                findings.append(
                    Finding("edits", label, FAIL, text + ": changes more outside its mask than inside", fix)
                )
            else:
                findings.append(Finding("edits", label, OK if entry in published else INFO, text, metrics=numbers))
    return findings


def _probe(report: DoctorReport, session: Session, steps: int) -> list[Finding]:
    from ..training.balance import balance_probe

    if steps < 1:
        return [Finding("balance probe", "training", SKIP, "not run (asked for 0 probe steps)")]
    entries = list(load_registry().values())
    if not entries:
        return [Finding("balance probe", "registry", SKIP, "no shipped edit to probe")]
    entry = entries[0]
    G = session.generator
    config = entry.recipe.config_for(G, entry.prompt, strength=entry.defaults.strength)
    settings, scale = entry.training, ""
    if not session.profile.trained:  # random models: the numbers mean nothing, so exercise the path cheaply
        settings = settings.model_copy(update={"batch_size": 1, "resolution": 64})
        scale = ", batch 1 at 64² (random models: the path exercised cheaply)"
    try:
        probe = balance_probe(G, session.clip, session.arcface, config, settings, steps=steps)
    except Exception as e:  # reported with what it was
        return [Finding("balance probe", entry.name, FAIL, f"{type(e).__name__}: {first_line(e)}")]
    report.probe_markdown = f"“{entry.prompt}”, {probe.steps} steps{scale}:\n\n" + probe.markdown()
    ratios = probe.ratio_to_guide(probe.after)
    shown = ", ".join(f"{name} {r:.3g}x" for name, r in ratios.items() if name != "clip")
    grads = [t.on_delta for t in [*probe.before, *probe.after]]
    guide = next(t.on_delta for t in probe.after if t.name == "clip")
    if not all(math.isfinite(g) for g in grads):
        return [Finding("balance probe", entry.name, FAIL, "a term's gradient is not finite", fix="check the models")]
    if guide == 0:
        return [Finding("balance probe", entry.name, FAIL, "CLIP's gradient on the latent offset is 0: nothing guides")]
    text = f"“{entry.prompt}” after {probe.steps} steps{scale}, each term's pull on Δ relative to CLIP's: {shown}"
    return [Finding("balance probe", entry.name, INFO, text + " (reported: see docs/training.md to read it)")]


def _cuda_checks(device: torch.device, session: Session | None, *, rehearse: bool = False) -> list[Finding]:
    """On CUDA: the device, the kernels against their PyTorch paths, a synthesis timing. `rehearse` runs
    the same on the CPU with the kernels stood in by their PyTorch definitions (as gpu_check's dry run)."""
    if device.type != "cuda" and not rehearse:
        built = f"torch {torch.__version__} built with CUDA {torch.version.cuda}" if torch.version.cuda else ""
        return [
            Finding("cuda", "device", INFO, f"no CUDA device here ({device}): CUDA checks not run. {built}".strip())
        ]
    findings = []
    env = cuda_ops.check_environment(device)
    rate = next(v for k, v in env.items() if k.startswith("matmul_"))
    where = f"{env['gpu']} (capability {env['capability']}, {env['gpu_memory_gib']} GiB)" if "gpu" in env else "CPU"
    text = f"{where}, torch {env['torch']} with CUDA {env['torch_cuda']}, matmul {rate} GFLOP/s"
    findings.append(Finding("cuda", "device", OK, text, metrics=env))
    checks: list[tuple[str, Callable[[], dict]]] = [
        ("CUDA extension builds and loads", lambda: cuda_ops.check_extension(device))
    ]
    for dtype in cuda_ops.OPS_DTYPES:
        tag = str(dtype).removeprefix("torch.")
        checks.append((f"upfirdn2d kernel, {tag}", partial(cuda_ops.check_upfirdn2d, device, dtype)))
        checks.append((f"fused_bias_act kernel, {tag}", partial(cuda_ops.check_fused_bias_act, device, dtype)))
    checks.append(("public ops dispatch to the kernels", lambda: cuda_ops.check_dispatch(device)))
    with cuda_ops.full_fp32():
        for name, check in checks:
            try:
                metrics = check()
            except cuda_ops.Skipped as e:
                findings.append(Finding("cuda", name, SKIP, str(e)))
            except Exception as e:  # a failing kernel is the finding
                fix = (
                    f"the kernels did not build: use an image or machine whose nvcc has CUDA {torch.version.cuda} "
                    "as torch does (a job: --image); meanwhile the ops' PyTorch path runs, slower"
                    if name.startswith("CUDA extension")
                    else "a kernel differs from its reference: report this line with the log"
                )
                findings.append(Finding("cuda", name, FAIL, f"{type(e).__name__}: {cuda_ops.short(str(e), 300)}", fix))
            else:
                shown = {k: v for k, v in metrics.items() if k in ("max_err", "build_or_load_s", "kernels_called")}
                findings.append(
                    Finding("cuda", name, OK, ", ".join(f"{k} {v}" for k, v in shown.items()), metrics=metrics)
                )
    if session is not None:
        findings.append(_synthesis_timing(session))
    return findings


def _synthesis_timing(session: Session) -> Finding:
    """Median time of one synthesis at the generator's size (fixed noise) in the session's precision."""
    device = session.device
    G = session.generator
    with torch.no_grad():
        wplus = G.to_wplus(G.mapping(torch.randn(1, G.style_dim, device=device)))
    times = []
    for _ in range(4):
        start = time.perf_counter()
        session.synthesize(wplus)
        cuda_ops.sync(device)
        times.append(time.perf_counter() - start)
    median = statistics.median(times[1:])
    text = f"{G.size}² synthesis, batch 1, {session.precision.name}: {median * 1000:.0f} ms"
    return Finding("cuda", "synthesis timing", OK, text, metrics={"median_s": median})


def _device() -> torch.device:
    from ..session.session import pick_device

    return pick_device()


def _describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def _clip_spec(profile: Profile) -> ClipSpec | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnpinnedSourceWarning)  # the model files step has said so
            return profile.clip_spec()
    except FeatError:
        return None  # the model files step has said why


def _write(report: DoctorReport, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    sheet = _contact_sheet(report)
    if sheet is not None:
        sheet.save(out / SHEET_NAME)
        report.files.append(out / SHEET_NAME)
    report.files.insert(0, out / REPORT_NAME)
    (out / REPORT_NAME).write_text(report.markdown())


def _contact_sheet(report: DoctorReport, tile: int = 256) -> Image.Image | None:
    """Each sample photo before (aligned) and after (its reconstruction), captioned; each edit's sheet below."""
    parts = []
    if report.reconstructions:
        font = ImageFont.load_default(size=14)
        pad, caption = 6, 22
        rows = len(report.reconstructions)
        recon = Image.new("RGB", (pad + 2 * (tile + pad), 24 + rows * (tile + caption + pad)), "white")
        draw = ImageDraw.Draw(recon)
        title = f"aligned | reconstruction ({report.profile} profile)"
        if report.notice:
            title += ": untrained random models, the reconstruction is meant to be noise"
        draw.text((pad, 4), title, fill="black", font=font)
        for i, r in enumerate(report.reconstructions):
            y = 24 + i * (tile + caption + pad)
            recon.paste(r.aligned.resize((tile, tile)), (pad, y))
            recon.paste(r.reconstructed.resize((tile, tile)), (2 * pad + tile, y))
            draw.text(
                (pad, y + tile + 2),
                f"{r.photo}: PSNR {r.psnr_db:.1f} dB, identity {r.identity:.3f}",
                fill="black",
                font=font,
            )
        parts.append(recon)
    parts += [contact_sheet(m, tile=tile) for m in report.edits]
    if not parts:
        return None
    sheet = Image.new("RGB", (max(p.width for p in parts), sum(p.height for p in parts)), "white")
    y = 0
    for p in parts:
        sheet.paste(p, (0, y))
        y += p.height
    return sheet


__all__ = ["DEFAULT_OUT", "REPORT_NAME", "SHEET_NAME", "DoctorReport", "run_doctor"]
