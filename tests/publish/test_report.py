"""The reproducibility report generated at build time."""

from affect_lib.io import write_json
from affect_lib.publish import machine
from affect_lib.publish.report import reproducibility_page


def test_reproducibility_page_reports_the_run(tmp_path):
    run = tmp_path / "_build" / "runs" / "smoke"
    write_json(
        run / "timings.json",
        {
            "profile": "smoke",
            "parameters": {"seed": 3},
            "notebooks": {"01_data_prep": {"seconds": 2.5, "status": "ok"}},
        },
    )
    write_json(run / "data" / "synth_mosei_summary.json", {"x": 1})
    page = reproducibility_page(tmp_path, "smoke", "run")
    for needle in (
        "# Reproducibility report",
        "`smoke`",
        '{"seed": 3}',
        "01_data_prep",
        "2.5",
        "torch",
        "data/synth_mosei_summary.json",
        "make book PROFILE=smoke",
        "cpu cores",
        "| CPU |",
    ):
        assert needle in page, needle
    # a run's outputs come from the machine in the table
    assert "notebooks/tolerances.json" not in page
    committed = reproducibility_page(tmp_path, "book", "committed")
    assert (
        "committed notebooks" in committed
        and "no wall times were measured" in committed
    )
    assert (
        "computed by `make notebooks`" in committed
        and "notebooks/tolerances.json" in committed
    )


def test_reproducibility_page_names_the_building_machines_cpu(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) "
        "CPU @ 2.20GHz\n"
    )
    monkeypatch.setattr(machine, "CPUINFO", cpuinfo)
    assert "| CPU | Intel(R) Xeon(R) CPU @ 2.20GHz |" in reproducibility_page(
        tmp_path, "book", "committed"
    )
    monkeypatch.setattr(machine, "CPUINFO", tmp_path / "absent")  # macOS: no /proc
    monkeypatch.setattr(machine.platform, "processor", lambda: "arm")
    assert machine.cpu_model() == "arm"


def test_reproducibility_page_keeps_each_notebooks_parameters_and_seeds(tmp_path):
    run = tmp_path / "_build" / "runs" / "smoke"
    (tmp_path / "notebooks").mkdir()
    for name in ("01_data_prep", "06_ablations"):
        (tmp_path / "notebooks" / f"{name}.ipynb").write_text("{}")
    # 01 ran with the defaults, then 06 alone with seed 3: the report must not relabel
    # 01
    write_json(
        run / "timings.json",
        {
            "profile": "smoke",
            "parameters": {"seed": 3},
            "notebooks": {
                "01_data_prep": {"seconds": 2.5, "status": "ok", "parameters": {}},
                "06_ablations": {
                    "seconds": 9.0,
                    "status": "ok",
                    "parameters": {"seed": 3},
                },
            },
        },
    )
    write_json(run / "ablations" / "summary.json", {"x": 1})
    (run / "ablations" / "runs.csv").write_text("variant,seed\nfull,3\n")
    page = reproducibility_page(tmp_path, "smoke", "run")
    assert "| 01_data_prep | 2.5 | ok | profile defaults |" in page
    assert '| 06_ablations | 9.0 | ok | `{"seed": 3}` |' in page
    # smoke trains 2 ablation seeds, and 2 disjoint ones for the A/A control
    assert "| `3` | `06_ablations` | 3-4; A/A control 5-6 |" in page
    assert "| `0` | `01_data_prep` | 0-1; A/A control 2-3 |" in page
    assert "ablations/runs.csv" in page and "ablations/summary.json" in page
    assert "affect-book run --profile smoke --only 06" in page
