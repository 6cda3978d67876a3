"""Chapter 6's ablation variants: every profile names known ones, and each is a valid
run config."""

from affect_lib.experiments.ablation_variants import VARIANTS, variant_config


def test_profiles_name_known_variants():
    from affect_lib.config import PROFILES

    for cfg in PROFILES.values():
        assert set(cfg.ablation.ablation_variants) <= set(VARIANTS)
    assert set(PROFILES["paper"].ablation.ablation_variants) == set(VARIANTS)


def test_variants_are_valid_configs(smoke_cfg):
    for v in VARIANTS.values():
        cfg = variant_config(smoke_cfg, v, 5)
        assert cfg.seed == 5
        for key, value in v.model.items():
            assert getattr(cfg.model, key) == value
        assert v.name.replace("_", "").isalnum()  # usable in a glue key
