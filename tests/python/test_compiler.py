"""mlprt.compiler: OpenCL kernels built, cached on disk across processes, and launched."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pytest

import mlprt
import mlprt.driver as cuda
from mlprt.compiler import SourceModule

from conftest import run_python

SAXPY = """
__kernel void saxpy(const float a, __global const float* x, __global float* y, const int n) {
    const int i = get_global_id(0);
    if (i < n) y[i] = a * x[i] + y[i];
}
"""


@pytest.mark.parametrize("n", [1, 7, 256, 1000003])
def test_saxpy_matches_numpy(rng, n: int) -> None:
    saxpy = SourceModule(SAXPY).get_function("saxpy")
    assert saxpy.num_args == 4
    x = rng.standard_normal(n).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    d_x, d_y = cuda.to_device(x), cuda.to_device(y)
    block = 64
    saxpy(np.float32(-1.75), d_x, d_y, np.int32(n), block=block, grid=(n + block - 1) // block)
    result = cuda.from_device_like(d_y, y)
    expected = np.float32(-1.75) * x + y
    assert np.max(np.abs(result - expected)) <= 1e-5 * np.max(np.abs(expected))


def test_build_errors_carry_the_compiler_log() -> None:
    with pytest.raises(mlprt.BuildError, match="undeclared_thing"):
        SourceModule("__kernel void k(__global float* p) { p[0] = undeclared_thing; }")
    # The process stays usable afterwards.
    assert SourceModule(SAXPY).get_function("saxpy").name == "saxpy"


def test_wrong_kernel_names_and_arguments() -> None:
    module = SourceModule(SAXPY)
    with pytest.raises(ValueError, match="no kernel named 'nope'"):
        module.get_function("nope")
    saxpy = module.get_function("saxpy")
    buffer = cuda.mem_alloc(16)
    with pytest.raises(TypeError, match="takes 4 arguments, got 2"):
        saxpy(np.float32(1), buffer)
    with pytest.raises(TypeError, match="argument 0 .* is a float"):
        saxpy(1.0, buffer, buffer, np.int32(4))
    with pytest.raises(ValueError, match="not a multiple of local size"):
        saxpy._kernel.launch(cuda.Stream(), [10], [4])
    with pytest.raises(ValueError, match="block must be 1 to 3 positive sizes"):
        saxpy(np.float32(1), buffer, buffer, np.int32(4), block=(0,))


def test_second_process_loads_the_binary_instead_of_compiling(tmp_path: Path) -> None:
    source = SAXPY + f"// unique {uuid.uuid4()}\n"
    code = (
        "import json, mlprt._core as c\n"
        f"from mlprt.compiler import SourceModule\n"
        f"m = SourceModule({source!r}, ['-DUNUSED=1'])\n"
        "print(json.dumps([m.program.origin, c.program_cache_stats()]))\n")
    env = {"MLPRT_CACHE_DIR": str(tmp_path), "MLPRT_PROGRAM_BINARIES": "1"}  # on PoCL too
    first = run_python(code, env)
    assert first.returncode == 0, first.stderr
    second = run_python(code, env)
    assert second.returncode == 0, second.stderr
    import json
    origin_1, stats_1 = json.loads(first.stdout)
    origin_2, stats_2 = json.loads(second.stdout)
    assert origin_1 == "compiled" and stats_1["compiled"] == 1
    assert origin_2 == "disk-cache" and stats_2 == {"compiled": 0, "loaded_from_disk": 1,
                                                    "reused_in_memory": 0, "installed_from_engine": 0,
                                                    "compiled_by_helpers": 0}
    files = list((tmp_path / "programs").glob("*.bin"))
    assert len(files) == 1 and files[0].read_bytes().startswith(b"MLPRT-CL-BINARY-1\n")

    # Other build options are another program; a corrupted file is rebuilt, not trusted.
    other = run_python(code.replace("-DUNUSED=1", "-DUNUSED=2"), env)
    assert json.loads(other.stdout)[0] == "compiled"
    for path in (tmp_path / "programs").glob("*.bin"):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] + bytes(len(data) - len(data) // 2))
    rebuilt = run_python(code, env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)[0] == "compiled"


def test_no_binaries_are_stored_where_they_are_not_kept(tmp_path: Path) -> None:
    """MLPRT_PROGRAM_BINARIES=0 (PoCL's default): the driver's own kernel cache is the only one."""
    source = SAXPY + f"// unique {uuid.uuid4()}\n"
    code = ("import mlprt._core as c\nfrom mlprt.compiler import SourceModule\n"
            f"m = SourceModule({source!r})\nprint(m.program.origin, c.program_binaries_kept())\n")
    env = {"MLPRT_CACHE_DIR": str(tmp_path), "MLPRT_PROGRAM_BINARIES": "0"}
    for _ in range(2):
        result = run_python(code, env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["compiled", "False"]
    assert not list(tmp_path.glob("programs/*.bin"))


def test_a_launch_nobody_waits_for_finishes_before_exit(tmp_path: Path) -> None:
    """A script that launches a kernel never compiled before (PoCL compiles it in its own thread at
    the launch) and exits without synchronizing: mlprt finishes its streams from Python's atexit,
    before the exit handlers that tear the driver's compiler down."""
    source = SAXPY + f"// unique {uuid.uuid4()}\n"
    code = ("import numpy as np, mlprt, mlprt.driver as cuda\nfrom mlprt.compiler import SourceModule\n"
            f"saxpy = SourceModule({source!r}).get_function('saxpy')\n"
            "x = cuda.to_device(np.ones(4096, np.float32))\n"
            "saxpy(np.float32(2), x, x, np.int32(4096), block=(64, 1, 1), grid=(64, 1), stream=cuda.Stream())\n"
            "import atexit\natexit.register(lambda: print('exiting'))\n")
    result = run_python(code, {"MLPRT_CACHE_DIR": str(tmp_path), "POCL_CACHE_DIR": str(tmp_path / "pocl")})
    assert (result.returncode, result.stdout.strip()) == (0, "exiting"), result.stderr[-2000:]


def test_same_source_in_one_process_is_built_once() -> None:
    from mlprt import _core
    source = SAXPY + f"// unique {uuid.uuid4()}\n"
    before = _core.program_cache_stats()
    SourceModule(source)
    SourceModule(source)
    after = _core.program_cache_stats()
    assert after["compiled"] == before["compiled"] + 1
    assert after["reused_in_memory"] == before["reused_in_memory"] + 1
    assert os.environ["MLPRT_CACHE_DIR"] in _core.program_cache_directory()
