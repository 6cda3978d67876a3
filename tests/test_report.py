"""Build-time pages: the reproducibility report and the performance page."""

import json

from affect_lib.io import write_json
from affect_lib.report import performance_page, reproducibility_page


def test_reproducibility_page_reports_the_run(tmp_path):
    run = tmp_path / "_build" / "runs" / "smoke"
    write_json(run / "timings.json", {"profile": "smoke", "parameters": {"seed": 3},
                                      "notebooks": {"01_data_prep": {"seconds": 2.5, "status": "ok"}}})
    write_json(run / "data" / "synth_mosei_summary.json", {"x": 1})
    page = reproducibility_page(tmp_path, "smoke", "run")
    for needle in ("# Reproducibility report", "`smoke`", '{"seed": 3}', "01_data_prep", "2.5", "torch",
                   "data/synth_mosei_summary.json", "make book PROFILE=smoke", "cpu cores"):
        assert needle in page, needle
    committed = reproducibility_page(tmp_path, "book", "committed")
    assert "committed notebooks" in committed and "no wall times were measured" in committed


def test_performance_page_shows_claims(tmp_path):
    assert "run `make bench`" in performance_page(tmp_path)
    bench = tmp_path / "_build" / "bench"
    bench.mkdir(parents=True)
    (bench / "x.json").write_text(json.dumps({
        "benchmark": "ddim_vs_ddpm", "rows": [{"sampler": "DDIM", "seconds": 1.0}],
        "checks": {"speedup": {"value": 20.0, "op": ">=", "budget": 15.0, "ok": True},
                   "gap": {"value": 0.2, "op": "<=", "budget": 0.02, "ok": False}}}))
    page = performance_page(tmp_path)
    assert "## ddim vs ddpm" in page and "| speedup | 20 | >= 15 | yes |" in page and "**no**" in page
