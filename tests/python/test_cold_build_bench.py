"""bench/cold_build.py on a small network with MLPRT_PARALLEL_BUILD=1 (the GPUs' build-wide compile
pool, on PoCL): the cold build in a fresh process with empty caches writes its row (the pool's
line, the driver's compiles, the engine's tactics) and keeps the whole verbose log, whose
candidates it tabulates per kernel family; a network that fails leaves an error row. The networks'
real cold builds are measured on the GPU machine (bench/RESULTS.md)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "cold_build.py"
sys.path.insert(0, str(REPO / "bench"))

import cold_build  # noqa: E402


def test_tactic_families_drop_the_tile_sizes() -> None:
    assert cold_build.family_of("large_m64n64_k16_t8x8") == "large"
    assert cold_build.family_of("hwc_gemm:wgmma_f16_128x128") == "hwc_gemm:wgmma_f16"
    assert cold_build.family_of("igemm_t4x4_splitk") == "igemm"
    assert cold_build.family_of("direct_m8") == "direct"
    assert cold_build.family_of("depthwise") == "depthwise"


def test_the_compile_timeline_counts_compiles_in_flight(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text("[    0.100] step 'a': timing 2 candidates for x\n"
                   "[    4.000] program compiled in 4000.0 ms: gemm_a [-DA]\n"   # 0-4 s
                   "[    3.000] program compiled in 2000.0 ms: gemm_b [-DB]\n"   # 1-3 s
                   "[    5.000] program compiled in 1000.0 ms: gemm_c [-DC]\n"   # 4-5 s
                   "program compiled in 9.0 ms: untimed [-DU]\n")
    lines = cold_build.compile_timeline(log).splitlines()
    assert lines[0] == "3 compiles, 7.0 s summed, the last ending at 5.0 s; in flight per 2 s:"
    assert lines[1].split() == ["0s:1.5", "2s:1.5", "4s:0.5"]
    assert [line.split()[:2] for line in lines[3:]] == [["1.00", "3.00"], ["0.00", "4.00"], ["4.00", "5.00"]]
    assert lines[-1].endswith("gemm_c [-DC]")


def test_a_cold_build_writes_its_row_and_tabulates_its_candidates(tmp_path: Path) -> None:
    env = dict(os.environ, MLPRT_PARALLEL_BUILD="1")
    result = subprocess.run([sys.executable, str(SCRIPT), "--models", "super_resolution:16x16:1,no_such_net:8x8:1",
                             "--out", str(tmp_path / "logs"), "--workdir", str(tmp_path / "onnx"),
                             "--json", str(tmp_path / "rows.json")],
                            capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    row, failed = json.loads((tmp_path / "rows.json").read_text())
    assert row["model"] == "super_resolution:16x16:1" and row["build_s"] > 0
    (ahead,) = row["ahead"]
    assert ahead.startswith("compiled ahead: ") and " of 4 steps in " in ahead, ahead
    assert row["programs_compiled"] >= 1 and sum(row["tactics"].values()) >= 4
    log = Path(row["log"]).read_text()
    assert ": chose " in log and "candidates for Convolution" in log
    assert all(line.startswith("[") for line in log.splitlines())
    timeline = subprocess.run([sys.executable, str(SCRIPT), "--timeline", row["log"]],
                              capture_output=True, text=True, timeout=60)
    assert timeline.returncode == 0 and " compiles, " in timeline.stdout.splitlines()[0], timeline.stdout
    assert failed["model"] == "no_such_net:8x8:1" and "no_such_net" in failed["error"]
    table = subprocess.run([sys.executable, str(SCRIPT), "--candidates", row["log"]],
                           capture_output=True, text=True, timeout=60)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["family", "timed", "won", "best", "ratio", "median"]
    won = sum(int(line.split()[2]) for line in lines[1:])
    assert won == log.count(": chose ") and won >= 4, table.stdout
