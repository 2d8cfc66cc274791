"""Cold builds: the builder compiles only kernels that can win at the shapes it times, and a build
with empty kernel caches prints nothing that the user did not ask for."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List

import numpy as np

import mlprt
from engine_helpers import RecordingLogger


def timed_messages(batch: int, widths: List[int], half: bool = False) -> List[str]:
    """Builds a chain of dense layers (ReLU between them) at `batch` rows; the builder's
    "(timed ...)" messages."""
    rng = np.random.default_rng(7)
    logger = RecordingLogger()
    builder = mlprt.Builder(logger)
    network = builder.create_network(0)
    x = network.add_input("x", mlprt.DataType.FLOAT, (batch, widths[0]))
    for index, (k, n) in enumerate(zip(widths, widths[1:])):
        w = network.add_constant((k, n), rng.standard_normal((k, n)).astype(np.float32)).get_output(0)
        x = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, w, mlprt.MatrixOperation.NONE).get_output(0)
        if index + 2 < len(widths):
            x = network.add_activation(x, mlprt.ActivationType.RELU).get_output(0)
    x.name = "y"
    network.mark_output(x)
    config = builder.create_builder_config()
    if half:
        config.set_flag(mlprt.BuilderFlag.FP16)
    assert builder.build_serialized_network(network, config) is not None, logger.errors()
    return [message for _, message in logger.messages if "(timed" in message]


def tactics_timed(message: str) -> List[str]:
    """The tactic names of one "(timed a=1ms b=2ms)" message."""
    timed = message[message.index("(timed") + len("(timed"):].rstrip(")")
    return [entry.split("=")[0] for entry in timed.split()]


def test_gemm_tactics_with_blocks_far_larger_than_the_product_are_not_timed() -> None:
    # 64 x 10 products: every block of 64 columns or more is at least 4x the product (K = 150:
    # long enough for the split row kernels, so that more than one candidate remains to time).
    messages = timed_messages(64, [150, 10])
    gemm = [m for m in messages if m.startswith("step ")]
    assert len(gemm) == 1, messages
    tactics = tactics_timed(gemm[0])
    # The local-memory tiles are not timed on CPU devices at all (PoCL cold build 3).
    on_cpu = "cpu" in mlprt.current_device().type.lower()
    assert "small_m8" in tactics and ("tiled_m2n2_k16" in tactics) != on_cpu, tactics
    assert not [t for t in tactics if t.startswith("large_") or t in ("tiled_m4n4_k16", "tiled_m8n8_k8")], tactics


def test_fused_mlp_rows_per_group_beyond_the_batch_are_not_timed() -> None:
    for batch, expected in ((1, ["fused_mlp_r1"]), (3, ["fused_mlp_r1", "fused_mlp_r2", "fused_mlp_r4"])):
        messages = timed_messages(batch, [24, 16, 5])
        # The choice before tactic choice times them (and the one after it reuses those times).
        fused = [m for m in messages if "fused_mlp_r" in m]
        assert 1 <= len(fused) <= 2, messages
        for message in fused:
            rows = [t for t in tactics_timed(message) if t.startswith("fused_mlp_r")]
            assert rows == expected, (batch, message)


def test_a_build_with_empty_kernel_caches_prints_nothing(tmp_path: Path) -> None:
    """PoCL used to print "1 warning generated." for each fused MLP kernel it compiled (a loop
    its compiler could not unroll as the source asked); the build must print nothing."""
    script = textwrap.dedent(
        """
        import numpy as np
        import mlprt
        logger = mlprt.Logger(mlprt.Logger.WARNING)
        builder = mlprt.Builder(logger)
        network = builder.create_network(0)
        x = network.add_input("x", mlprt.DataType.FLOAT, (1, 40))
        rng = np.random.default_rng(3)
        for k, n in ((40, 16), (16, 6)):
            w = network.add_constant((k, n), rng.standard_normal((k, n)).astype(np.float32)).get_output(0)
            x = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, w,
                                            mlprt.MatrixOperation.NONE).get_output(0)
        x.name = "y"
        network.mark_output(x)
        config = builder.create_builder_config()
        config.set_flag(mlprt.BuilderFlag.FP16)
        assert builder.build_serialized_network(network, config) is not None
        """
    )
    env = dict(os.environ, MLPRT_CACHE_DIR=str(tmp_path / "mlprt-cache"), POCL_CACHE_DIR=str(tmp_path / "pocl-cache"))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    compiled = any((tmp_path / cache).rglob("*") for cache in ("mlprt-cache", "pocl-cache"))
    assert compiled, "the build compiled nothing: the test proves nothing"


def test_a_convolution_build_with_empty_kernel_caches_prints_nothing(tmp_path: Path) -> None:
    """PoCL printed "1 warning generated." for every convolution program, FP32 and FP16, linear
    and channels-last (a loop of the staged epilogue that left early, which its optimizer could
    not unroll as the source asked); the build must print nothing. Channels-last is forced so
    that the HWC programs compile too (CPU devices keep LINEAR by default)."""
    script = textwrap.dedent(
        """
        import numpy as np
        import mlprt
        logger = mlprt.Logger(mlprt.Logger.WARNING)
        for half in (False, True):
            builder = mlprt.Builder(logger)
            network = builder.create_network(0)
            x = network.add_input("x", mlprt.DataType.FLOAT, (1, 5, 9, 7))
            rng = np.random.default_rng(5)
            kernel = rng.standard_normal((6, 5, 3, 3)).astype(np.float32)
            conv = network.add_convolution_nd(x, 6, (3, 3), kernel, rng.standard_normal(6).astype(np.float32))
            conv.pre_padding = conv.post_padding = (1, 1)
            y = network.add_activation(conv.get_output(0), mlprt.ActivationType.RELU).get_output(0)
            y.name = "y"
            network.mark_output(y)
            config = builder.create_builder_config()
            if half:
                config.set_flag(mlprt.BuilderFlag.FP16)
            assert builder.build_serialized_network(network, config) is not None
        """
    )
    env = dict(os.environ, MLPRT_CACHE_DIR=str(tmp_path / "mlprt-cache"), POCL_CACHE_DIR=str(tmp_path / "pocl-cache"),
               MLPRT_CHANNELS_LAST="1")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    compiled = any((tmp_path / cache).rglob("*") for cache in ("mlprt-cache", "pocl-cache"))
    assert compiled, "the build compiled nothing: the test proves nothing"


def test_a_cold_build_reports_each_program_it_compiles_and_its_time(tmp_path: Path) -> None:
    """At VERBOSE, each OpenCL program the build compiles (not those found in memory or on disk)
    is named with its options and seconds: where a cold build's time goes."""
    script = textwrap.dedent(
        """
        import numpy as np
        import mlprt

        class Recorder(mlprt.ILogger):
            def __init__(self):
                super().__init__()
                self.lines = []
            def log(self, severity, message):
                if message.startswith("compiled program"):
                    self.lines.append(message)

        def build(logger):
            builder = mlprt.Builder(logger)
            network = builder.create_network(0)
            x = network.add_input("x", mlprt.DataType.FLOAT, (3, 40))
            w = network.add_constant((40, 6), np.random.default_rng(3).standard_normal((40, 6)).astype(np.float32))
            y = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, w.get_output(0),
                                            mlprt.MatrixOperation.NONE).get_output(0)
            y.name = "y"
            network.mark_output(y)
            assert builder.build_serialized_network(network, builder.create_builder_config()) is not None

        for attempt in range(2):
            recorder = Recorder()
            build(recorder)
            print(len(recorder.lines))
            for line in recorder.lines:
                print(line)
        """
    )
    env = dict(os.environ, MLPRT_CACHE_DIR=str(tmp_path / "mlprt-cache"))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    count = int(lines[0])
    first = lines[1:1 + count]
    assert count >= 2, done.stdout  # the product's tactics are several programs
    assert all(re.fullmatch(r"compiled program '\w+' \(.*\) in \d+\.\d+ s", line) for line in first), first
    assert any(line.startswith("compiled program 'gemm' (-DSMALL_ROWS=") for line in first), first
    assert lines[1 + count:] == ["0"], "the second build in the process compiled again: " + done.stdout


def test_the_package_compiles_in_its_helper_processes_where_the_pool_takes_them(tmp_path: Path) -> None:
    """The package points the core at the mlprt-compile-helper installed beside it; a build that
    asks for them (MLPRT_PARALLEL_BUILD=processes, binaries kept as on NVIDIA's devices) and has
    the eight timed steps that start them compiles through the helpers, prints nothing, and its
    engine answers as the products do."""
    helper = mlprt._core.compile_helper_path()
    assert helper == str(Path(mlprt.__file__).resolve().with_name("mlprt-compile-helper")), helper
    assert os.access(helper, os.X_OK), helper
    script = textwrap.dedent(
        """
        import numpy as np
        import mlprt
        import mlprt.driver as cuda
        logger = mlprt.Logger(mlprt.Logger.WARNING)
        builder = mlprt.Builder(logger)
        network = builder.create_network(0)
        x = network.add_input("x", mlprt.DataType.FLOAT, (-1, 3, 64))
        rng = np.random.default_rng(11)
        steps = 8
        weights = [rng.standard_normal((64, 64)).astype(np.float32) / 8 for _ in range(steps)]
        for w in weights:
            constant = network.add_constant((64, 64), w).get_output(0)
            x = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, constant,
                                            mlprt.MatrixOperation.NONE).get_output(0)
        x.name = "y"
        network.mark_output(x)
        config = builder.create_builder_config()
        profile = builder.create_optimization_profile()
        profile.set_shape("x", (1, 3, 64), (16, 3, 64), (64, 3, 64))
        config.add_optimization_profile(profile)
        plan = builder.build_serialized_network(network, config)
        assert plan is not None
        assert mlprt._core.program_cache_stats()["compiled_by_helpers"] > 0, mlprt._core.program_cache_stats()
        engine = mlprt.Runtime(logger).deserialize_cuda_engine(plan)
        context = engine.create_execution_context()
        context.set_input_shape("x", (5, 3, 64))
        data = rng.standard_normal((5, 3, 64)).astype(np.float32)
        expected = data.astype(np.float64)
        for w in weights:
            expected = expected @ w
        out = np.empty((5, 3, 64), np.float32)
        d_in, d_out = cuda.mem_alloc(data.nbytes), cuda.mem_alloc(out.nbytes)
        cuda.memcpy_htod(d_in, data)
        assert context.execute_v2([int(d_in), int(d_out)])
        cuda.memcpy_dtoh(out, d_out)
        assert np.abs(out - expected).max() <= 1e-4 * np.abs(expected).max()
        """
    )
    env = dict(os.environ, MLPRT_CACHE_DIR=str(tmp_path / "mlprt-cache"), MLPRT_PROGRAM_BINARIES="1",
               MLPRT_PARALLEL_BUILD="processes")
    env.pop("MLPRT_COMPILE_HELPER", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
