"""`feat-space doctor`: the tiny profile offline, and the real download path against the local Hub stand-in
with the tiny models published under the real repos' names: all good, a sha256 that differs, a renamed or
reshaped key, an e4e of another generator, an unreachable Hub, a gated file without a token, and
`models pin` making the next doctor pass."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from pathlib import Path

import pytest
import torch
from hub_server import HubServer
from huggingface_hub.utils import _http as hf_http
from PIL import Image
from test_hub import env  # noqa: F401  (the fixtures: a fresh HF_HOME and feat cache, online, no token)
from test_hub import hub as hub_server  # noqa: F401  (the local Hub stand-in, HF_ENDPOINT pointing at it)

from feat_space import cli
from feat_space.checks.doctor import REPORT_NAME, SHEET_NAME, run_doctor
from feat_space.checks.findings import FAIL, OK
from feat_space.models import Encoder4Editing, Generator
from feat_space.weights import sources, tiny
from feat_space.weights.download import forget_digests
from feat_space.weights.profiles import get_profile
from feat_space.weights.roles import ModelRole

DATA = Path(__file__).parent / "data"
PHOTO = [DATA / "astronaut.png"]  # one photo keeps each full run to seconds
FAST = {"photos": PHOTO, "probe_steps": 1}
HUB = {"photos": PHOTO, "probe_steps": 0}  # the probe is the tiny profile's test's; these are about the files
# The tiny file served as each real source's file.
SERVED = {
    "e4e-ffhq": ModelRole.ENCODER,
    "arcface-ir-se50": ModelRole.ARCFACE,
    "clip-vit-b-32-openai": ModelRole.CLIP,
}


def statuses(report, step: str) -> dict[str, str]:
    return {f.subject: f.status for f in report.findings if f.step == step}


def failure_text(report) -> str:
    return "\n".join(f"{f.text} -> {f.fix}" for f in report.failures)


def test_tiny_profile_reports_every_step_and_passes(tmp_path):
    out = tmp_path / "report"
    report = run_doctor("tiny", out=out, **FAST)
    assert report.ok, failure_text(report)
    steps = {f.step for f in report.findings}
    assert steps == {"model files", "layout", "loading", "reconstruction", "edits", "balance probe", "cuda"}
    recon = next(f for f in report.findings if f.subject == "astronaut.png" and f.step == "reconstruction")
    assert recon.status == "info" and "not judged" in recon.text  # random models: reported only
    assert {"psnr_db", "identity"} <= set(recon.metrics)
    edit = next(f for f in report.findings if f.step == "edits" and "demo" in f.subject)
    assert "mask" in edit.text and "inside" in edit.text and "outside" in edit.text
    assert "l2" in next(f.text for f in report.findings if f.step == "balance probe")
    text = (out / REPORT_NAME).read_text()
    assert "All checks passed" in text and "UNTRAINED" in text and "## Balance probe" in text
    assert Image.open(out / SHEET_NAME).size[0] >= 512


def test_quick_cli_run_writes_the_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FEAT_PROFILE", "tiny")
    assert cli.main(["doctor", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "[ok  ] layout: generator" in out and "all checks passed" in out
    assert "loading" not in out  # quick: files, layouts and CUDA only
    assert (tmp_path / REPORT_NAME).is_file()


def test_the_cuda_step_rehearsed_on_the_cpu():
    # The doctor's CUDA step with the kernels stood in by their PyTorch definitions, as gpu_check's dry run.
    from feat_space.checks.doctor import _cuda_checks

    found = {f.subject: f for f in _cuda_checks(torch.device("cpu"), None, rehearse=True)}
    assert found["device"].status == OK and "matmul" in found["device"].text
    assert {found[name].status for name in found if "kernel," in name} == {OK}, [f.line() for f in found.values()]
    assert len([name for name in found if "kernel," in name]) == 4  # upfirdn2d and fused_bias_act, fp32 and fp16
    assert "no CUDA" in found["CUDA extension builds and loads"].text  # skipped, saying why
    assert found["public ops dispatch to the kernels"].status == "skip"


# -- the real profile against the local Hub ----------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    return tiny.tiny_files(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def hub(hub_server, monkeypatch):  # noqa: F811  (the imported fixture, by name)
    """test_hub's local Hub with a fresh HF_HOME and feat cache; the project's pins restored afterwards."""
    monkeypatch.delenv("FEAT_PROFILE", raising=False)
    forget_digests()
    yield hub_server
    monkeypatch.undo()
    sources.reload_sources()  # back to the project's own pins


def publish(hub: HubServer, tiny_set, tmp_path, monkeypatch, *, replace: dict[str, bytes] | None = None, **kw):
    """Serve the tiny files under the real sources' repos and names; write pins for what is served
    (the pins of `replace`d files are those of the tiny originals, as if the Hub's copy had changed)."""
    pins = {}
    for name, role in SERVED.items():
        source = sources.SOURCES[name]
        content = tiny_set.path(role).read_bytes()
        served = (replace or {}).get(name, content)
        commit = hub.add_file(source.repo_id, source.filename, served, token=kw.get("tokens", {}).get(name))
        digest = hashlib.sha256(served if name in kw.get("pin_served", ()) else content).hexdigest()
        pins[name] = {"revision": commit, "sha256": digest, "size": len(served), "provenance": "test"}
    pins_file = tmp_path / "pins.json"
    pins_file.write_text(json.dumps(pins))
    monkeypatch.setenv(sources.PINS_ENV, str(pins_file))
    sources.reload_sources()
    return pins_file


def real_profile(tiny_set):
    # The real profile's download path; only CLIP's architecture is the tiny one, to fit the served file.
    return dataclasses.replace(get_profile("real"), clip_model=tiny.CLIP_MODEL_NAME, clip_config=tiny_set.clip_config)


def test_all_good(hub, tiny_set, tmp_path, monkeypatch):
    publish(hub, tiny_set, tmp_path, monkeypatch)
    # Random models cannot reach real weights' PSNR and identity: those figures are reported here, while the
    # pairing (judged on any models) must hold. The e4e test below shows the figures judged.
    report = run_doctor(real_profile(tiny_set), out=tmp_path / "r", judge_quality=False, **HUB)
    assert report.ok, failure_text(report)
    assert set(statuses(report, "model files").values()) == {OK}
    assert statuses(report, "reconstruction")["encoder/generator pairing"] == OK


def test_a_sha256_that_differs_is_named_with_the_fix(hub, tiny_set, tmp_path, monkeypatch):
    publish(hub, tiny_set, tmp_path, monkeypatch)
    hub.corrupt(sources.SOURCES["arcface-ir-se50"].repo_id, sources.SOURCES["arcface-ir-se50"].filename)
    report = run_doctor(real_profile(tiny_set), out=tmp_path / "r", quick=True)
    assert not report.ok
    [failure] = report.failures
    assert failure.subject == "arcface-ir-se50" and "sha256" in failure.text
    assert "download --force" in failure.text
    assert "arcface-ir-se50" in (tmp_path / "r" / REPORT_NAME).read_text()


def _e4e_with(tiny_set, change) -> bytes:
    ckpt = torch.load(tiny_set.path(ModelRole.ENCODER), weights_only=True)
    change(ckpt)
    buffer = io.BytesIO()
    torch.save(ckpt, buffer)
    return buffer.getvalue()


def _rename(ckpt):
    state = ckpt["state_dict"]
    state["encoder.input_layer.0.kernel"] = state.pop("encoder.input_layer.0.weight")


def _reshape(ckpt):
    state = ckpt["state_dict"]
    state["decoder.convs.3.conv.weight"] = state["decoder.convs.3.conv.weight"][:, :, :-1]


@pytest.mark.parametrize(
    ("change", "role", "expected"),
    [
        (_rename, "encoder", "missing keys input_layer.0.weight; unexpected keys input_layer.0.kernel"),
        (_reshape, "generator", "wrong shapes convs.3.conv.weight"),
    ],
)
def test_a_renamed_or_reshaped_key_is_named_before_loading(
    hub, tiny_set, tmp_path, monkeypatch, change, role, expected
):
    publish(hub, tiny_set, tmp_path, monkeypatch, replace={"e4e-ffhq": _e4e_with(tiny_set, change)},
            pin_served={"e4e-ffhq"})  # fmt: skip
    report = run_doctor(real_profile(tiny_set), out=tmp_path / "r", **HUB)
    layout = {f.subject: f for f in report.findings if f.step == "layout"}
    assert layout[role].status == FAIL and expected in layout[role].text, layout[role].text
    assert "official file" in layout[role].fix
    assert statuses(report, "loading") == {"models": "skip"}  # nothing loads a file that does not fit


def test_an_e4e_of_another_generator_is_flagged_by_the_reconstruction(hub, tiny_set, tmp_path, monkeypatch):
    def foreign_encoder(ckpt):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1)  # another generator, and an encoder "trained" with it
            other = Generator(tiny.GENERATOR_SIZE, n_mlp=tiny.MAPPING_LAYERS, channels=tiny.GENERATOR_CHANNELS)
            with torch.no_grad():
                mean_w = other.mapping(torch.randn(4096, other.style_dim)).mean(0)
            encoder = Encoder4Editing(n_styles=other.n_latent, stages=tiny.IRSE_STAGES)
        state = {k: v for k, v in ckpt["state_dict"].items() if k.startswith("decoder.")}
        ckpt["state_dict"] = {**state, **{f"encoder.{k}": v for k, v in encoder.state_dict().items()}}
        ckpt["latent_avg"] = mean_w.repeat(other.n_latent, 1)

    foreign = _e4e_with(tiny_set, foreign_encoder)
    publish(hub, tiny_set, tmp_path, monkeypatch, replace={"e4e-ffhq": foreign}, pin_served={"e4e-ffhq"})
    report = run_doctor(real_profile(tiny_set), out=tmp_path / "r", **HUB)
    assert statuses(report, "layout") == dict.fromkeys(["generator", "encoder", "arcface", "clip"], OK)
    pairing = next(f for f in report.findings if f.subject == "encoder/generator pairing")
    assert pairing.status == FAIL and "does not belong to this generator" in pairing.text
    assert pairing.metrics["mean_w_distance"] > 0.25
    # Judged as trained weights (the real profile), its PSNR and identity are flagged too.
    photo = next(f for f in report.findings if f.step == "reconstruction" and f.subject == "astronaut.png")
    assert photo.status == FAIL and "PSNR" in photo.text and photo.fix


def test_an_unreachable_hub_says_so(hub, tiny_set, tmp_path, monkeypatch):
    publish(hub, tiny_set, tmp_path, monkeypatch)
    dead = HubServer().start()
    url = dead.url
    dead.stop()
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setattr(hf_http.time, "sleep", lambda seconds: None)  # huggingface_hub's retry backoff
    report = run_doctor(real_profile(tiny_set), out=tmp_path / "r", quick=True)
    files = [f for f in report.findings if f.step == "model files"]
    assert [f.status for f in files] == [FAIL] * 3
    assert all("Cannot reach the Hub" in f.text and url in f.text for f in files)


def test_a_gated_file_without_a_token_says_how_to_log_in(hub, tiny_set, tmp_path, monkeypatch):
    publish(hub, tiny_set, tmp_path, monkeypatch, tokens={"arcface-ir-se50": "hf_secret"})
    report = run_doctor(real_profile(tiny_set), out=tmp_path / "r", quick=True)
    [failure] = report.failures
    assert failure.subject == "arcface-ir-se50" and "gated" in failure.text and "HF_TOKEN" in failure.text
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    assert run_doctor(real_profile(tiny_set), out=tmp_path / "r", quick=True).ok


def test_models_pin_makes_the_next_doctor_pass(hub, tiny_set, tmp_path, monkeypatch, capsys):
    pins_file = publish(hub, tiny_set, tmp_path, monkeypatch)
    pins = json.loads(pins_file.read_text())
    del pins["e4e-ffhq"]  # not pinned yet: the doctor prints its digest and the command
    pins["clip-vit-b-32-openai"]["sha256"] = None
    pins_file.write_text(json.dumps(pins))
    sources.reload_sources()
    before = run_doctor(real_profile(tiny_set), out=tmp_path / "r", quick=True)
    failures = {f.subject: f for f in before.failures}
    assert set(failures) == {"e4e-ffhq", "clip-vit-b-32-openai"}
    e4e_digest = hashlib.sha256(tiny_set.path(ModelRole.ENCODER).read_bytes()).hexdigest()
    assert "NOT PINNED" in failures["e4e-ffhq"].text and e4e_digest in failures["e4e-ffhq"].text
    assert failures["e4e-ffhq"].fix.endswith("feat-space models pin e4e-ffhq")

    assert cli.main(["models", "pin", "e4e-ffhq", "clip-vit-b-32-openai"]) == 0
    assert "Wrote 2 pin(s)" in capsys.readouterr().out
    written = sources.load_sources(pins_file)  # read back from the file, as a new process would
    assert written["e4e-ffhq"].pinned and written["e4e-ffhq"].sha256 == e4e_digest
    assert written["arcface-ir-se50"].sha256 == pins["arcface-ir-se50"]["sha256"]  # others kept
    after = run_doctor(real_profile(tiny_set), out=tmp_path / "r", quick=True)
    assert after.ok, failure_text(after)


def test_pin_print_writes_nothing(hub, tiny_set, tmp_path, monkeypatch, capsys):
    pins_file = publish(hub, tiny_set, tmp_path, monkeypatch)
    before = pins_file.read_text()
    assert cli.main(["pin", "--print", "e4e-ffhq"]) == 0
    assert "e4e-ffhq" in capsys.readouterr().out and pins_file.read_text() == before
