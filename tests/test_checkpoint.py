"""The checkpoint format: round trip, provenance, and a clear error for every bad file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from pul_bench.checkpoint import (
    apply_state_dict,
    load_backbone_init,
    load_checkpoint,
    save_checkpoint,
    weights_sha256,
)
from pul_bench.errors import InputError
from pul_bench.models.siamese import build_backbone


@pytest.fixture(scope="module")
def alexnet_sd() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return build_backbone("alexnet").state_dict()


def test_round_trip_fp32_exact_with_metadata(tmp_path: Path, alexnet_sd) -> None:
    path = tmp_path / "a.pt"
    stored = save_checkpoint(path, alexnet_sd, {"architecture": "alexnet", "recipe": "bd.yaml",
                                                "data": "unlabeled/"})
    sd, meta = load_checkpoint(path)
    assert meta == stored
    for key in ("architecture", "recipe", "data", "git_revision", "date", "sha256", "dtype"):
        assert meta[key], key
    assert meta["dtype"] == "float32"
    assert meta["sha256"] == weights_sha256(alexnet_sd)
    assert sd.keys() == alexnet_sd.keys()
    for k in sd:
        assert torch.equal(sd[k], alexnet_sd[k]), k
    apply_state_dict(build_backbone("alexnet"), sd, path)


def test_fp16_is_half_size_and_loads_as_float32(tmp_path: Path, alexnet_sd) -> None:
    full, half = tmp_path / "full.pt", tmp_path / "half.pt"
    save_checkpoint(full, alexnet_sd, {"architecture": "alexnet"})
    save_checkpoint(half, alexnet_sd, {"architecture": "alexnet"}, fp16=True)
    assert half.stat().st_size < 0.55 * full.stat().st_size
    sd, meta = load_checkpoint(half)
    assert meta["dtype"] == "float16"
    w = "conv1.0.weight"
    assert sd[w].dtype == torch.float32
    torch.testing.assert_close(sd[w], alexnet_sd[w], rtol=1e-3, atol=1e-4)
    assert sd["conv1.1.num_batches_tracked"].dtype == torch.int64


def test_missing_architecture_is_refused(tmp_path: Path, alexnet_sd) -> None:
    with pytest.raises(ValueError, match="architecture"):
        save_checkpoint(tmp_path / "x.pt", alexnet_sd, {})
    assert not list(tmp_path.iterdir())


def test_truncated_file_is_a_clear_error(tmp_path: Path, alexnet_sd) -> None:
    path = tmp_path / "t.pt"
    save_checkpoint(path, alexnet_sd, {"architecture": "alexnet"})
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InputError, match=r"t\.pt: not a readable PyTorch weights file"):
        load_checkpoint(path)


def test_text_file_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.pt"
    path.write_text("hello\n")
    with pytest.raises(InputError, match="notes.pt"):
        load_checkpoint(path)
    with pytest.raises(InputError, match="checkpoint file not found"):
        load_checkpoint(tmp_path / "absent.pt")


def test_altered_weights_fail_the_hash(tmp_path: Path, alexnet_sd) -> None:
    path = tmp_path / "a.pt"
    save_checkpoint(path, alexnet_sd, {"architecture": "alexnet"})
    obj = torch.load(path, weights_only=True)
    obj["state_dict"]["conv1.0.weight"][0, 0, 0, 0] += 1.0
    torch.save(obj, path)
    with pytest.raises(InputError, match="sha256"):
        load_checkpoint(path)


def test_plain_state_dict_points_to_init(tmp_path: Path, alexnet_sd) -> None:
    path = tmp_path / "plain.pt"
    torch.save(alexnet_sd, path)
    with pytest.raises(InputError, match="--init"):
        load_checkpoint(path)


def test_wrong_architecture_names_the_keys(tmp_path: Path, alexnet_sd) -> None:
    path = tmp_path / "a.pt"
    save_checkpoint(path, alexnet_sd, {"architecture": "alexnet"})
    sd, _ = load_checkpoint(path)
    with pytest.raises(InputError, match=r"a\.pt: weights do not fit CIResNet22: missing"):
        apply_state_dict(build_backbone("ciresnet22"), sd, path)


def test_init_file_with_prefixes_and_classifier(tmp_path: Path) -> None:
    torch.manual_seed(4)
    src = build_backbone("ciresnet22").state_dict()
    blob = {f"module.features.{k}": v for k, v in src.items()}
    blob["fc.weight"] = torch.zeros(1000, 2048)
    path = tmp_path / "imagenet.pth"
    torch.save({"state_dict": blob}, path)
    target = build_backbone("ciresnet22")
    used = load_backbone_init(path, target)
    assert set(used) == set(src)
    assert torch.equal(target.state_dict()["layer2.4.conv3.weight"], src["layer2.4.conv3.weight"])


def test_init_file_that_fits_nothing_or_wrong_shape(tmp_path: Path) -> None:
    path = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(InputError, match="no tensor in the init file fits AlexNetV1"):
        load_backbone_init(path, build_backbone("alexnet"))
    torch.save({"conv1.0.weight": torch.zeros(64, 3, 7, 7)}, path)
    with pytest.raises(InputError, match="wrong shape"):
        load_backbone_init(path, build_backbone("alexnet"))


def test_manifest_records_and_detects_changes(tmp_path: Path, alexnet_sd) -> None:
    from pul_bench.checkpoint import update_manifest, verify_manifest

    manifest = tmp_path / "MANIFEST.yaml"
    ckpt = tmp_path / "alexpul.pt"
    save_checkpoint(ckpt, alexnet_sd, {"architecture": "alexnet", "recipe": "r.yaml",
                                       "data": "unlabeled"}, fp16=True)
    entry = update_manifest(manifest, "alexpul", ckpt, {"otb2015": {"auc": 0.5}})
    assert entry["recipe"] == "r.yaml" and entry["dtype"] == "float16"
    assert verify_manifest(manifest) == []
    (tmp_path / "stray.pt").write_bytes(ckpt.read_bytes())
    save_checkpoint(ckpt, alexnet_sd, {"architecture": "alexnet"})  # replaced, not re-recorded
    problems = verify_manifest(manifest)
    assert any("alexpul" in p and "sha256" in p for p in problems)
    assert any("stray.pt is not listed" in p for p in problems)


def test_manifest_lists_uncommitted_checkpoints_apart(tmp_path: Path, alexnet_sd) -> None:
    """A seed kept out of git is listed by path and sha256: it may be absent, not different."""
    from pul_bench.checkpoint import listed_sha256, update_manifest, verify_manifest

    weights, runs = tmp_path / "trackers" / "weights", tmp_path / "runs" / "weights"
    weights.mkdir(parents=True)
    runs.mkdir(parents=True)
    manifest = weights / "MANIFEST.yaml"
    seed2 = runs / "alexpul-bd-s2.pt"
    save_checkpoint(seed2, alexnet_sd, {"architecture": "alexnet"}, fp16=True)
    entry = update_manifest(manifest, "alexpul-bd-s2", seed2, section="uncommitted")
    assert entry["file"] == "../../runs/weights/alexpul-bd-s2.pt"
    assert listed_sha256(manifest, "alexpul-bd-s2") == entry["sha256"]
    assert listed_sha256(manifest, "alexpul-bd-s3") is None
    assert verify_manifest(manifest) == []  # not beside the manifest, and not "not listed"
    save_checkpoint(seed2, alexnet_sd, {"architecture": "alexnet"})  # retrained, not recorded
    assert verify_manifest(manifest) == [
        f"alexpul-bd-s2: {weights / entry['file']} does not match its sha256"]
    seed2.unlink()  # a clone: absent is fine
    assert verify_manifest(manifest) == []


def test_committed_reference_weights_match_their_manifest() -> None:
    from pul_bench.checkpoint import verify_manifest
    from pul_bench.paths import REPO_ROOT

    assert verify_manifest(REPO_ROOT / "trackers" / "weights" / "MANIFEST.yaml") == []


@pytest.mark.parametrize(("edit", "line", "message"), [
    (lambda lines, i: lines.insert(i + 1, lines[i]), 2, "duplicate key 'architecture'"),
    (lambda lines, i: lines.__setitem__(i, "    architecture: [alexnet]"), 1,
     "weights.alexpul-bd.architecture must be str"),
])
def test_manifest_copy_with_bad_entry_names_file_and_line(tmp_path: Path, edit, line: int,
                                                           message: str) -> None:
    """The committed manifest, one line spoiled: a duplicate key or a list where a name goes is
    refused with file and line (yaml.safe_load kept the last duplicate silently)."""
    from pul_bench.checkpoint import verify_manifest
    from pul_bench.paths import REPO_ROOT

    lines = (REPO_ROOT / "trackers" / "weights" / "MANIFEST.yaml").read_text().splitlines()
    i = lines.index("  alexpul-bd:") + 1
    assert lines[i] == "    architecture: alexnet"
    edit(lines, i)
    manifest = tmp_path / "MANIFEST.yaml"
    manifest.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=re.escape(f"{manifest}:{i + line}: {message}")):
        verify_manifest(manifest)
