"""The samplers' loops never wait for the device (no host sync per step).

On a GPU, ``.item()``, ``.tolist()`` or a tensor in an ``if`` makes the host wait for
the device at every step. A CPU cannot show the wait, so the test counts those calls:
the count must not grow with the number of sampling steps.
"""

import torch
from host_syncs import count_syncs

from affect_lib.affect_diff.diffusion import DiffusionSchedule, UNet1D, guided_eps_fn


def _sample(sampler: str, steps: int) -> None:
    torch.manual_seed(0)
    unet = UNet1D(channels=4, base_channels=16, channel_mults=(1, 2), groups=4).eval()
    schedule = DiffusionSchedule(timesteps=100)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[0, :2] = False
    eps_fn = guided_eps_fn(
        unet,
        label=torch.tensor([1, 2]),
        scale=2.0,
        influence=torch.full((2, 3), 1 / 3),
        mask=mask,
    )
    x_t = torch.randn(2, 6, 4)
    if sampler == "ddim":
        schedule.ddim_sample(eps_fn, (2, 6, 4), steps=steps, x_T=x_t, mask=mask)
    else:
        schedule.p_sample_loop(eps_fn, (2, 6, 4), x_T=x_t, t_start=steps - 1, mask=mask)


def test_ddim_and_ddpm_loops_do_not_sync_per_step():
    for sampler in ("ddim", "ddpm"):
        few, many = (count_syncs(lambda n=n, s=sampler: _sample(s, n)) for n in (5, 40))
        assert few == many, f"{sampler}: {few} host syncs for 5 steps, {many} for 40"


def test_the_counter_sees_a_sync_per_step():
    def per_step():
        x = torch.zeros(3)
        for _ in range(4):
            x.sum().item()

    assert count_syncs(per_step) == 4
