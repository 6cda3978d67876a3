import dataclasses

import pytest

from affect_lib.config import (
    PROFILES,
    AblationConfig,
    ConfigError,
    DataConfig,
    LascaConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    config_hash,
    load_profile,
    override_keys,
)


def test_profiles_exist_and_are_frozen():
    assert set(PROFILES) == {"smoke", "book", "paper"}
    cfg = load_profile("book")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.data.n_train = 3  # type: ignore[misc]


def test_paper_profile_has_cmu_mosei_folds():
    d = load_profile("paper").data
    assert (d.n_train, d.n_val, d.n_test) == (16326, 1871, 4659)
    # The folds sum to 22,856: the other 598 of CMU-MOSEI's 23,454 segments are in no
    # standard fold.
    assert (d.text_dim, d.audio_dim, d.video_dim) == (768, 74, 35)


def test_paper_profile_model_and_lasca_sizes():
    """The paper's scale: latent 256, T = 1000 diffusion steps, 15 LaScA seeds (a
    smaller value slips by otherwise)."""
    cfg = load_profile("paper")
    assert cfg.model.latent_dim == 256
    assert cfg.model.diffusion_steps == 1000
    assert cfg.lasca.n_seeds == 15


@pytest.mark.parametrize("profile", ["book", "paper"])
def test_lasca_learner_settings_of_the_paper(profile):
    """LaScA's preference MLP: L2 α = 1, at most 25 iterations, early stopping after 3
    (REFERENCE, Preference learning)."""
    lasca = load_profile(profile).lasca
    assert (lasca.alpha, lasca.max_iter, lasca.n_iter_no_change) == (1.0, 25, 3)


def test_unknown_profile_lists_valid_names():
    with pytest.raises(ConfigError) as exc:
        load_profile("nope")
    assert "nope" in str(exc.value)
    for name in ("smoke", "book", "paper"):
        assert name in str(exc.value)


def test_unknown_key_lists_valid_names_and_suggests():
    with pytest.raises(ConfigError) as exc:
        load_profile("book", no_such_key=1)
    msg = str(exc.value)
    assert "no_such_key" in msg and "seed" in msg and "n_train" in msg
    with pytest.raises(ConfigError, match="did you mean n_train"):
        load_profile("book", n_trian=5)


@pytest.mark.parametrize(
    "key,value",
    [
        ("seed", "3"),
        ("seed", 3.5),
        ("seed", True),
        ("n_train", "many"),
        ("driver_strength", "x"),
        ("driver_mix", 0.5),
        ("device", 3),
        ("data_dir", 5),
    ],
)
def test_wrong_type_names_key_and_expected_type(key, value):
    with pytest.raises(ConfigError, match=f"'{key}"):
        load_profile("smoke", **{key: value})


def test_overrides_apply_and_promote():
    cfg = load_profile(
        "smoke", seed=3, n_train=50, driver_strength=2, driver_mix=[0.5, 0.25, 0.25]
    )
    assert cfg.seed == 3 and cfg.data.n_train == 50
    assert cfg.data.driver_strength == 2.0 and isinstance(
        cfg.data.driver_strength, float
    )
    assert cfg.data.driver_mix == (0.5, 0.25, 0.25)
    assert load_profile("smoke", **{"data.n_val": 7}).data.n_val == 7
    assert PROFILES["smoke"].data.n_train != 50  # the registry is untouched


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("device", "tpu", "one of auto, cpu, cuda, mps"),
        ("data_source", "nope", "synthetic"),
        ("data_source", "cmu_mosei", "needs data_dir"),
        ("driver_mix", [0.5, 0.5, 0.5], "sum to 1"),
        ("class_probs", [1.0], "6 entries"),
        ("min_len", 100, "min_len"),
        ("n_train", 0, "n_train"),
        ("seed", -1, "seed"),
        ("conflict_prob", 1.5, "conflict_prob"),
        ("latent_rank", 99, "latent_rank"),
        ("d_model", 15, "multiple of n_heads"),
        ("tau_end", 5.0, "tau_end"),
        ("gumbel_schedule", "cos", "exp, linear"),
        ("gumbel_hard", 1, "bool"),
        ("denoise_t_start", 500, "denoise_t_start"),
        ("unet_base", 12, "multiple of 8"),
        ("precision", "64", "one of auto"),
        ("driver_strength", float("nan"), "finite"),
        ("lr", float("inf"), "finite"),
        ("max_epochs", 0, "max_epochs"),
        ("ddim_steps", 999, "ddim_steps"),
        ("mlp_batch_size", 0, "mlp_batch_size >= 1"),
        ("gap_draws", 1, "gap_draws must be >= 2"),
        ("audio_sr", 0, "audio_sr > 0"),
        ("alpha", -1.0, "alpha"),
        ("n_iter_no_change", 0, "n_iter_no_change"),
        ("taus", [0.1, 1.5], r"taus must be in \[0, 1\)"),
        ("encoders", ["mpnet"], "encoder 'minilm'"),
        ("ablation_variants", ["full", "bogus"], "unknown ablation variant.*bogus"),
        ("ablation_batch_size", 0, "ablation_batch_size must be >= 1"),
    ],
)
def test_semantic_validation(key, value, match):
    with pytest.raises(ConfigError, match=match):
        load_profile("smoke", **{key: value})


def test_a_key_given_twice_or_with_an_empty_section_is_refused():
    with pytest.raises(ConfigError, match="'n_train' given twice"):
        load_profile("smoke", **{"data.n_train": 10, "n_train": 20})
    with pytest.raises(ConfigError, match="unknown parameter '.seed'"):
        load_profile("smoke", **{".seed": 3})


def test_the_ablation_variants_known_to_the_config_are_the_registry():
    from affect_lib.config import ALL_VARIANTS
    from affect_lib.experiments.ablation_variants import VARIANTS

    assert set(ALL_VARIANTS) == set(VARIANTS)


def test_override_keys_are_unique_across_sections():
    top = [f.name for f in dataclasses.fields(RunConfig)]
    sections = [
        set(f.name for f in dataclasses.fields(c))
        for c in (DataConfig, ModelConfig, TrainConfig, LascaConfig, AblationConfig)
    ]
    sections.append(
        set(top) - {"profile", "data", "model", "train", "lasca", "ablation"}
    )
    # no name appears twice
    assert sum(len(s) for s in sections) == len(set().union(*sections))
    assert set(override_keys()) == set().union(*sections)


def test_config_hash_ignores_location_but_not_content():
    a = load_profile("smoke")
    assert config_hash(a) == config_hash(
        load_profile("smoke", run_dir="/elsewhere", device="cpu")
    )
    assert config_hash(a) != config_hash(load_profile("smoke", seed=1))
    assert config_hash(a) != config_hash(load_profile("smoke", n_train=10))


def test_run_path_defaults_to_build_runs(root, monkeypatch):
    monkeypatch.chdir(root / "notebooks")
    assert load_profile("smoke").run_path == root / "_build" / "runs" / "smoke"
    assert str(load_profile("smoke", run_dir="/tmp/x").run_path) == "/tmp/x"
