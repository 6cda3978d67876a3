"""affect-train: Hydra overrides map onto the book's config; DDP replicas agree; chapter
4's checkpoint."""

import json
import subprocess
import sys

import pytest
from ddp_run import run_two_gloo_ranks

from affect_lib.affect_diff.cli import _compose, _to_run_config, main
from affect_lib.affect_diff.module import load_affect_diff
from affect_lib.config import load_profile


def test_overrides_map_onto_run_config():
    merged = _compose(
        [
            "profile=smoke",
            "seed=3",
            "model.latent_dim=4",
            "train.lr=0.01",
            "data.driver_mix=[0.6,0.2,0.2]",
            "trainer.devices=2",
            "trainer.strategy=ddp",
        ]
    )
    cfg = _to_run_config("smoke", merged)
    assert cfg.profile == "smoke" and cfg.seed == 3
    assert (
        cfg.model.latent_dim == 4
        and cfg.train.lr == 0.01
        and cfg.data.driver_mix == (0.6, 0.2, 0.2)
    )
    assert merged["trainer"] == {
        "accelerator": "auto",
        "devices": 2,
        "num_nodes": 1,
        "strategy": "ddp",
        "progress_bar": True,
    }


def test_profile_defaults_come_from_the_profile():
    cfg = _to_run_config("paper", _compose(["profile=paper"]))
    assert (
        cfg.model.latent_dim == 256
        and cfg.model.diffusion_steps == 1000
        and cfg.data.n_train == 16326
    )


@pytest.mark.parametrize(
    "args,needle",
    [
        (["profile=nope"], "valid profiles"),
        (["profile=smoke", "model.no_such_key=1"], "no_such_key"),
        (["profile=smoke", "seed=abc"], "seed"),
        (["profile=smoke", "model.unet_base=12"], "multiple of 8"),
    ],
)
def test_bad_overrides_fail_with_a_message(args, needle, capsys):
    assert main(args) == 2
    assert needle in capsys.readouterr().err


def test_missing_data_or_resume_point_fail_with_a_message(tmp_path, capsys):
    assert (
        main(
            [
                "profile=smoke",
                "data_source=cmu_mosei",
                f"data_dir={tmp_path}",
                f"run_dir={tmp_path}",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert (
        err.startswith("affect-train: error:")
        and "CMU_MOSEI_TimestampedWordVectors.csd" in err
    )
    assert main(["profile=smoke", f"run_dir={tmp_path}", "resume=true"]) == 2
    assert "last.ckpt does not exist" in capsys.readouterr().err
    assert not (tmp_path / "affect_diff").exists()  # nothing written


@pytest.mark.slow
def test_ddp_two_cpu_processes_agree(tmp_path):
    """DDP with 2 CPU processes (gloo): both ranks end with identical parameters."""
    ranks, metrics = run_two_gloo_ranks(tmp_path, "profile=smoke", "train.max_epochs=1")
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["sha256"] == ranks[1]["sha256"]
    assert metrics["epochs"] == 1


@pytest.mark.slow
def test_a_cli_run_writes_chapter_4s_checkpoint(tmp_path):
    """`affect-train profile=smoke` (the workshop guide's way to chapter 4 on Colab)
    writes the checkpoint that chapter 4 loads with its own config, and metrics.json
    with the test metrics."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "affect_lib.affect_diff.cli",
            "profile=smoke",
            f"run_dir={tmp_path}",
            "trainer.progress_bar=false",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((tmp_path / "affect_diff" / "metrics.json").read_text())
    assert {"profile", "seed", "epochs", "test", "torch_cpu_capability"} == set(metrics)
    cfg = load_profile("smoke", run_dir=str(tmp_path))
    model = load_affect_diff(
        cfg.run_path / "affect_diff" / "checkpoints" / "best.ckpt", cfg
    )
    assert not model.training
