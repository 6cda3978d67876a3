"""The performance page generated at build time, and the book's own benchmark
budgets."""

import importlib.util
import json

from affect_lib.io import write_json
from affect_lib.publish.performance import (
    PERFORMANCE_FIGURE,
    _budget_share,
    performance_page,
)
from conftest import ROOT


def test_performance_page_shows_claims(tmp_path):
    assert "run `make bench`" in performance_page(tmp_path)
    bench = tmp_path / "_build" / "bench"
    bench.mkdir(parents=True)
    (bench / "x.json").write_text(
        json.dumps(
            {
                "benchmark": "ddim_vs_ddpm",
                "machine": {"cores": 2, "platform": "linux"},
                "n": 600,
                "gap_ci95": [-0.01, 0.02],
                "rows": [
                    {"sampler": "DDIM", "seconds": 1.0},
                    {"sampler": "DDPM", "seconds": None},
                ],
                "checks": {
                    "speedup": {"value": 20.0, "op": ">=", "budget": 15.0, "ok": True},
                    "gap |a - b|": {
                        "value": 0.2,
                        "op": "<=",
                        "budget": 0.02,
                        "ok": False,
                    },
                    "total seconds": {
                        "value": None,
                        "op": "<=",
                        "budget": 600.0,
                        "ok": False,
                    },
                },
            }
        )
    )
    (bench / "old.json").write_text(
        json.dumps({"benchmark": "old_format", "seconds": 3.0})
    )
    (bench / "broken.json").write_text("{ not json")
    page = performance_page(tmp_path)
    assert "| ddim vs ddpm | speedup | 20 | >= 15 | OK |" in page
    # "|" escaped in a cell
    assert "| ddim vs ddpm | gap \\|a - b\\| | 0.2 | <= 0.02 | **MISS** |" in page
    # not measured
    assert "| ddim vs ddpm | total seconds | - | <= 600 | **MISS** |" in page
    assert (
        "## ddim vs ddpm" in page
        and "| DDPM | - |" in page
        and "Measured on 2 cores" in page
    )
    assert (
        "Settings and further results: `n` = 600; `gap_ci95` = [-0.01, 0.02]." in page
    )
    assert (
        "## old format" in page and "no budget checks" in page and "unreadable" in page
    )
    # no chart unless asked
    assert PERFORMANCE_FIGURE not in page and not list(tmp_path.rglob("*.png"))


def test_performance_page_writes_the_budget_chart(tmp_path):
    bench = tmp_path / "_build" / "bench"
    write_json(
        bench / "a.json",
        {
            "benchmark": "a",
            "checks": {
                "ratio": {"value": 1.3, "op": "<=", "budget": 1.1, "ok": False},
                "speedup": {"value": 3000.0, "op": ">=", "budget": 100.0, "ok": True},
            },
        },
    )
    page = performance_page(tmp_path, figure_dir=tmp_path / "stage")
    figure = tmp_path / "stage" / PERFORMANCE_FIGURE
    assert f"]({PERFORMANCE_FIGURE})" in page
    assert (
        figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        and figure.stat().st_size > 5_000
    )


def test_budget_share_is_below_one_exactly_when_met():
    assert _budget_share({"value": 0.5, "op": "<=", "budget": 1.0}) == 0.5
    assert _budget_share({"value": 20.0, "op": ">=", "budget": 15.0}) == 0.75
    assert _budget_share({"value": 1.3, "op": "<=", "budget": 1.1}) > 1
    assert _budget_share({"value": None, "op": "<=", "budget": 1.0}) is None


def _bench_book():
    spec = importlib.util.spec_from_file_location(
        "bench_book", ROOT / "benchmarks" / "bench_book.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_book(root, timings):
    for name in (
        "01_data_prep",
        "02_causal_graph",
        "03_diffusion_training",
        "04_counterfactuals",
        "05_lasca",
    ):
        # only the names matter here
        write_json(root / "notebooks" / f"{name}.ipynb", {})
    path = root / "timings.json"
    write_json(
        path,
        {
            "profile": "book",
            "parameters": {},
            "notebooks": {
                k: {"seconds": v, "status": "ok" if v is not None else "failed"}
                for k, v in timings.items()
            },
        },
    )
    return path


def test_bench_book_budgets_per_notebook_and_total(tmp_path):
    bench = _bench_book()
    assert bench.budget_s("03_diffusion_training") == (180.0, "issue")
    assert bench.budget_s("01_data_prep") == (bench.DEFAULT_BUDGET_S, "default")
    # 06 has a budget before it exists
    assert bench.budget_s("06_ablations") == (
        180.0,
        "issue",
    )
    fast = {
        "01_data_prep": 10.0,
        "02_causal_graph": 30.0,
        "03_diffusion_training": 70.0,
        "04_counterfactuals": 60.0,
        "05_lasca": 50.0,
    }
    out = tmp_path / "_build" / "bench" / "book.json"
    args = ["--root", str(tmp_path), "--out", str(out), "--from-timings"]
    # no 06 notebook: nothing missing
    assert bench.main([*args, str(_fake_book(tmp_path, fast))]) == 0
    result = json.loads(out.read_text())
    assert result["checks"]["all notebooks seconds"] == {
        "value": 220.0,
        "op": "<=",
        "budget": 600.0,
        "ok": True,
    }
    assert [r["notebook"] for r in result["rows"]] == list(fast)
    # inside the project: shown relative to it
    assert result["timings_from"] == "timings.json"
    page = performance_page(tmp_path)
    assert "| book execution | 04_counterfactuals seconds | 60 | <= 90 | OK |" in page

    # over its own budget, total still fine
    slow = {
        **fast,
        "04_counterfactuals": 200.0,
    }
    assert bench.main([*args, str(_fake_book(tmp_path, slow))]) == 1
    assert not json.loads(out.read_text())["checks"]["04_counterfactuals seconds"]["ok"]

    failed = {**fast, "05_lasca": None}
    del failed["02_causal_graph"]  # not in the timings file at all
    assert bench.main([*args, str(_fake_book(tmp_path, failed))]) == 1
    checks = json.loads(out.read_text())["checks"]
    assert (
        checks["05_lasca seconds"]["value"] is None
        and not checks["05_lasca seconds"]["ok"]
    )
    assert (
        not checks["02_causal_graph seconds"]["ok"]
        and not checks["all notebooks seconds"]["ok"]
    )
    assert (
        "| book execution | 05_lasca seconds | - | <= 120 | **MISS** |"
        in performance_page(tmp_path)
    )


def test_committed_results_fill_in_for_benchmarks_not_run_here(tmp_path):
    committed = tmp_path / "benchmarks" / "results"
    for name, cpu in (("a", "Committed CPU"), ("b", "Committed CPU")):
        write_json(
            committed / f"{name}.json",
            {
                "benchmark": f"bench_{name}",
                "commit": "abc1234",
                "rows": [],
                "machine": {"cores": 2, "processor": cpu},
                "checks": {},
            },
        )
    write_json(
        tmp_path / "_build" / "bench" / "b.json",
        {
            "benchmark": "bench_b",
            "rows": [],
            "checks": {},
            "machine": {"cores": 16, "processor": "Local CPU"},
        },
    )
    page = performance_page(tmp_path)
    a_part = page.split("## bench a")[1].split("## ")[0]
    b_part = page.split("## bench b")[1].split("## ")[0]
    assert "Committed CPU, commit `abc1234`; the committed measurement" in a_part
    assert "Local CPU" in b_part and "Committed CPU" not in b_part
