"""The TensorRT workflow on networks built with the network definition API: build (static and
dynamic, FP32 and FP16), serialize, deserialize, run with pinned buffers, profiles, timing
cache, and every error a user can provoke. ONNX models are in test_engine_zoo.py."""
from __future__ import annotations

import json
import os
import struct
import threading
from typing import Dict, Tuple

import numpy as np
import pytest

import mlprt
import mlprt.driver as cuda
from conftest import run_python
from engine_helpers import RecordingLogger, build, chained_products, infer, load, relative_error

FP32_TOLERANCE = 1e-5
FP16_TOLERANCE = 1e-2


def mlp_weights(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    return {"w1": (rng.standard_normal((784, 32)) * 0.05).astype(np.float32),
            "b1": rng.standard_normal(32).astype(np.float32),
            "w2": (rng.standard_normal((32, 10)) * 0.2).astype(np.float32),
            "b2": rng.standard_normal(10).astype(np.float32)}


def mlp_reference(x: np.ndarray, w: Dict[str, np.ndarray]) -> np.ndarray:
    hidden = np.maximum(x.astype(np.float64) @ w["w1"] + w["b1"], 0.0)
    return hidden @ w["w2"] + w["b2"]


def simple_mlp(w: Dict[str, np.ndarray], batch: int = -1):
    """The tutorial's SimpleMLP (784-32-10) as layers: MatMul, bias Add, ReLU, MatMul, bias Add."""
    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("input", mlprt.DataType.FLOAT, (batch, 784))
        layer = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE,
                                            network.add_constant((784, 32), w["w1"]).get_output(0),
                                            mlprt.MatrixOperation.NONE)
        h = layer.get_output(0)
        h = network.add_elementwise(h, network.add_constant((1, 32), w["b1"].reshape(1, 32)).get_output(0),
                                    mlprt.ElementWiseOperation.SUM).get_output(0)
        h = network.add_activation(h, mlprt.ActivationType.RELU).get_output(0)
        y = network.add_matrix_multiply(h, mlprt.MatrixOperation.NONE,
                                        network.add_constant((32, 10), w["w2"]).get_output(0),
                                        mlprt.MatrixOperation.NONE).get_output(0)
        y = network.add_elementwise(y, network.add_constant((10,), w["b2"]).get_output(0),
                                    mlprt.ElementWiseOperation.SUM).get_output(0)
        y.name = "output"
        network.mark_output(y)
    return populate


DYNAMIC = [{"input": ((1, 784), (32, 784), (64, 784))}]


@pytest.fixture(scope="module")
def weights() -> Dict[str, np.ndarray]:
    return mlp_weights(np.random.default_rng(7))


@pytest.fixture(scope="module")
def dynamic_plans(weights) -> Dict[bool, bytes]:
    """FP32 and FP16 plans of the dynamic SimpleMLP, built once for the module, with their
    programs' binaries on every device (PoCL's are kept only when asked for)."""
    plans = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLPRT_PROGRAM_BINARIES", "1")
        for fp16 in (False, True):
            plan = build(simple_mlp(weights), DYNAMIC, fp16=fp16)
            assert plan is not None
            plans[fp16] = bytes(plan)
    return plans


@pytest.mark.parametrize("fp16", [False, True], ids=["fp32", "fp16"])
def test_static_engine_matches_numpy(weights, rng, fp16):
    plan = build(simple_mlp(weights, batch=5), fp16=fp16)
    assert plan is not None
    context = load(bytes(plan)).create_execution_context()
    assert context.all_binding_shapes_specified  # static inputs need no set_input_shape
    x = rng.standard_normal((5, 784)).astype(np.float32)
    out = infer(context, {"input": x})["output"]
    assert out.shape == (5, 10) and out.dtype == np.float32
    assert relative_error(out, mlp_reference(x, weights)) <= (FP16_TOLERANCE if fp16 else FP32_TOLERANCE)


@pytest.mark.parametrize("fp16", [False, True], ids=["fp32", "fp16"])
@pytest.mark.parametrize("batch", [1, 13, 40, 64])
def test_dynamic_engine_matches_numpy(dynamic_plans, weights, rng, fp16, batch):
    context = load(dynamic_plans[fp16]).create_execution_context()
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    out = infer(context, {"input": x})["output"]
    assert out.shape == (batch, 10)
    assert relative_error(out, mlp_reference(x, weights)) <= (FP16_TOLERANCE if fp16 else FP32_TOLERANCE)


def test_plan_is_bytes_like_and_round_trips_through_a_file(weights, rng, tmp_path):
    plan = build(simple_mlp(weights), DYNAMIC)
    assert isinstance(plan, mlprt.IHostMemory) and len(plan) == plan.nbytes > 0
    path = tmp_path / "simple_mlp_dynamic.engine"
    with open(path, "wb") as f:
        f.write(plan)
    engine = mlprt.Runtime(RecordingLogger()).deserialize_cuda_engine(open(path, "rb").read())
    assert bytes(engine.serialize()) == bytes(plan)
    again = mlprt.Runtime(RecordingLogger()).deserialize_engine(bytes(engine.serialize()))
    x = rng.standard_normal((3, 784)).astype(np.float32)
    first = infer(engine.create_execution_context(), {"input": x})["output"]
    second = infer(again.create_execution_context(), {"input": x})["output"]
    np.testing.assert_array_equal(first, second)


def test_engine_describes_its_io_tensors(dynamic_plans):
    engine = load(dynamic_plans[False])
    assert engine.num_io_tensors == len(engine) == 2
    assert [engine.get_tensor_name(i) for i in range(2)] == ["input", "output"] == list(engine)
    assert engine[0] == "input" and engine[-1] == "output"
    assert engine.get_tensor_mode("input") == mlprt.TensorIOMode.INPUT
    assert engine.get_tensor_mode("output") == mlprt.TensorIOMode.OUTPUT
    assert engine.get_tensor_mode("nothing") == mlprt.TensorIOMode.NONE
    assert engine.get_tensor_shape("input") == (-1, 784)
    assert engine.get_tensor_shape("output") == (-1, 10)
    assert engine.get_tensor_dtype("output") == mlprt.DataType.FLOAT
    assert engine.num_optimization_profiles == 1
    assert engine.get_tensor_profile_shape("input", 0) == [(1, 784), (32, 784), (64, 784)]
    # Two GEMM steps need an arena; a FusedMLP step (when timing picks it) keeps its hidden
    # activations on chip and needs none, unless some range runs its products one at a time
    # ("layers_*" tactics), whose activations live in the step's workspace.
    layer = json.loads(engine.create_engine_inspector().get_layer_information(0, mlprt.LayerInformationFormat.JSON))
    tactics = [layer["TacticName"]] + [r["Tactic"] for r in layer["TacticRanges"]]
    runs_products = engine.num_layers > 1 or any(t.startswith("layers_") for t in tactics)
    assert (engine.device_memory_size > 0) == runs_products, (engine.num_layers, tactics)
    assert mlprt.volume(engine.get_tensor_shape("input")[1:]) == 784
    with pytest.raises(ValueError, match="no I/O tensor named 'nothing'"):
        engine.get_tensor_shape("nothing")
    with pytest.raises(ValueError, match="profile 3 does not exist"):
        engine.get_tensor_profile_shape("input", 3)


def test_context_resolves_output_shapes(dynamic_plans):
    context = load(dynamic_plans[False]).create_execution_context()
    assert not context.all_binding_shapes_specified
    assert context.infer_shapes() == ["input"]
    assert context.get_tensor_shape("output") == (-1, 10)
    assert context.set_input_shape("input", (17, 784))
    assert context.all_binding_shapes_specified and context.infer_shapes() == []
    assert context.get_tensor_shape("input") == (17, 784)
    assert context.get_tensor_shape("output") == (17, 10)


def test_shapes_outside_the_profile_are_refused_with_a_logged_reason(dynamic_plans):
    logger = RecordingLogger()
    context = load(dynamic_plans[False], logger).create_execution_context()
    assert not context.set_input_shape("input", (65, 784))
    assert "outside optimization profile 0" in logger.errors() and "(65, 784)" in logger.errors()
    assert not context.set_input_shape("input", (8, 783))
    assert "fixed shape" in logger.errors()
    assert not context.set_input_shape("input", (8, 784, 1))
    assert not context.set_input_shape("output", (8, 10))
    assert context.set_input_shape("input", (64, 784))  # the context stays usable


def test_two_profiles_in_one_engine(weights, rng):
    profiles = [{"input": ((1, 784), (4, 784), (8, 784))}, {"input": ((16, 784), (32, 784), (64, 784))}]
    engine = load(bytes(build(simple_mlp(weights), profiles)))
    assert engine.num_optimization_profiles == 2
    assert engine.get_tensor_profile_shape("input", 1) == [(16, 784), (32, 784), (64, 784)]
    context = engine.create_execution_context()
    stream = cuda.Stream()
    assert context.active_optimization_profile == 0
    assert not context.set_input_shape("input", (40, 784))
    assert context.set_optimization_profile_async(1, stream.handle)
    assert context.active_optimization_profile == 1
    assert not context.set_input_shape("input", (4, 784))
    for batch in (16, 37, 64):
        x = rng.standard_normal((batch, 784)).astype(np.float32)
        out = infer(context, {"input": x}, stream)["output"]
        assert relative_error(out, mlp_reference(x, weights)) <= FP32_TOLERANCE
    context.active_optimization_profile = 0
    x = rng.standard_normal((3, 784)).astype(np.float32)
    assert relative_error(infer(context, {"input": x})["output"], mlp_reference(x, weights)) <= FP32_TOLERANCE
    with pytest.raises(ValueError, match="profile 2 does not exist"):
        context.set_optimization_profile_async(2, stream.handle)


def test_timing_cache_is_filled_then_reused(weights):
    builder = mlprt.Builder(RecordingLogger())
    config = builder.create_builder_config()
    cache = config.create_timing_cache(b"")
    assert len(cache) == 0
    assert build(simple_mlp(weights), DYNAMIC, cache=cache) is not None
    entries = len(cache)
    # The first product at each of the 5 sizes a dynamic profile is timed at (min, between min and
    # opt, opt, between opt and max, max); the second (K = 32: too short for the split row kernels)
    # at the 3 sizes of at most 32 rows, where small_m1 and small_m8 can both take it (above them
    # small_m8 alone: nothing to time, nothing cached); one for fusing the chain or not at opt and
    # one per other size for the fused step's tactic there.
    assert entries == 5 + 3 + 1 + 4
    assert cache.misses == entries and cache.hits == 0
    assert build(simple_mlp(weights), DYNAMIC, cache=cache) is not None
    assert cache.hits == entries and len(cache) == entries

    data = bytes(cache.serialize())
    restored = config.create_timing_cache(data)
    assert len(restored) == entries
    merged = config.create_timing_cache(b"")
    assert merged.combine(restored, ignore_mismatch=False) and len(merged) == entries
    assert config.set_timing_cache(restored, ignore_mismatch=False)
    assert config.get_timing_cache() is restored
    with pytest.raises(ValueError, match="corrupted"):
        config.create_timing_cache(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ValueError, match="truncated"):
        config.create_timing_cache(data[:-3])
    with pytest.raises(ValueError, match="not an mlprt timing cache"):
        config.create_timing_cache(b"hello world, no cache here")


def test_without_a_timing_cache_equal_layers_are_timed_once(rng):
    """As TensorRT's builder does, a build given no timing cache keeps one of its own: the second
    of two equal matrix multiplications takes the first's tactic instead of being timed again.
    (Rank 3, so that no fused MLP takes the two: at rank 2 the pass before tactic choice may fuse
    them where the launch floor it measures comes out high on a busy machine.)"""
    w = [rng.standard_normal((64, 64)).astype(np.float32) for _ in range(2)]
    logger = RecordingLogger()
    engine = load(build(lambda network: chained_products(network, w), logger=logger))
    said = [m for _, m in logger.messages]
    assert sum("': chose " in m for m in said) == 1, said
    assert sum("from the timing cache" in m for m in said) == 1, said
    x = rng.standard_normal((2, 8, 64)).astype(np.float32)
    out = infer(engine.create_execution_context(), {"input": x})["output"]
    assert relative_error(out, x.astype(np.float64) @ w[0] @ w[1]) <= FP32_TOLERANCE


def test_builder_config_settings():
    builder = mlprt.Builder(RecordingLogger())
    config = builder.create_builder_config()
    config.set_memory_pool_limit(mlprt.MemoryPoolType.WORKSPACE, 1 << 30)
    assert config.get_memory_pool_limit(mlprt.MemoryPoolType.WORKSPACE) == 1 << 30
    assert not config.get_flag(mlprt.BuilderFlag.FP16)
    config.set_flag(mlprt.BuilderFlag.FP16)
    assert config.get_flag(mlprt.BuilderFlag.FP16)
    config.clear_flag(mlprt.BuilderFlag.FP16)
    assert not config.get_flag(mlprt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    profile.set_shape("input", (1, 4), (2, 4), (3, 4))
    assert profile.get_shape("input") == ((1, 4), (2, 4), (3, 4))
    assert config.add_optimization_profile(profile) == 0
    assert config.add_optimization_profile(profile) == 1
    assert config.num_optimization_profiles == 2
    assert isinstance(builder.platform_has_fast_fp16, bool)


@pytest.mark.parametrize("low,opt,high,message", [
    ((4, 784), (2, 784), (8, 784), "min <= opt <= max"),
    ((1, 784), (2, 784, 1), (8, 784), "differ in rank"),
    ((1, 784), (9, 784), (8, 784), "dimension 0 has min 1, opt 9, max 8"),
    ((-1, 784), (2, 784), (8, 784), "concrete"),
])
def test_invalid_profiles_are_rejected_naming_the_input(low, opt, high, message):
    profile = mlprt.Builder(RecordingLogger()).create_optimization_profile()
    with pytest.raises(ValueError, match="input 'input'") as error:
        profile.set_shape("input", low, opt, high)
    assert message in str(error.value)


@pytest.mark.parametrize("profiles,message", [
    ([], "input 'input' has the dynamic shape (-1, 784) but the builder config has no optimization profile"),
    ([{"input": ((1, 784, 1), (2, 784, 1), (3, 784, 1))}], "input 'input': min shape (1, 784, 1) has rank 3"),
    ([{"input": ((1, 100), (2, 100), (3, 100))}], "differs from the fixed dimension 1"),
    ([{"input": ((1, 784), (2, 784), (3, 784)), "other": ((1,), (1,), (1,))}], "'other', which is not a network input"),
])
def test_build_failures_return_none_and_log_the_reason(weights, profiles, message):
    logger = RecordingLogger()
    assert build(simple_mlp(weights), profiles, logger=logger) is None
    assert message in logger.errors()


def test_network_without_outputs_is_refused():
    logger = RecordingLogger()
    assert build(lambda n: n.add_input("x", mlprt.DataType.FLOAT, (2, 2)), logger=logger) is None
    assert "no outputs" in logger.errors()


def engine_header(plan: bytes) -> Tuple[bytes, int, int, int, int]:
    return struct.unpack("<8sIIQQ", plan[:32])


def test_damaged_engine_files_are_refused_with_the_reason(dynamic_plans):
    plan = dynamic_plans[False]
    cases = {
        "truncated": plan[: len(plan) // 2],
        "corrupted": plan[:100] + bytes([plan[100] ^ 0x10]) + plan[101:],
        "not an mlprt engine": b"\x00" * 64,
        "newer than this mlprt supports": plan[:8] + struct.pack("<I", 99) + plan[12:],
    }
    for reason, data in cases.items():
        logger = RecordingLogger()
        assert mlprt.Runtime(logger).deserialize_cuda_engine(data) is None, reason
        assert reason in logger.errors(), (reason, logger.errors())
    assert load(plan) is not None  # nothing was left broken


def test_execution_errors_name_the_culprit(dynamic_plans, rng):
    context = load(dynamic_plans[False]).create_execution_context()
    stream = cuda.Stream()
    with pytest.raises(ValueError, match="shape of input 'input' is not set"):
        context.execute_async_v3(stream.handle)
    assert context.set_input_shape("input", (4, 784))
    with pytest.raises(ValueError, match="no address is set for input 'input'"):
        context.execute_async_v3(stream.handle)
    x = cuda.mem_alloc(4 * 784 * 4)
    small = cuda.mem_alloc(4 * 10 * 4 - 4)
    context.set_tensor_address("input", int(x))
    context.set_tensor_address("output", int(small))
    with pytest.raises(ValueError, match="output 'output'"):
        context.execute_async_v3(stream.handle)
    freed = cuda.mem_alloc(4 * 10 * 4)
    address = int(freed)
    freed.free()
    with pytest.raises(ValueError):
        context.set_tensor_address("output", address)
    with pytest.raises(ValueError, match="no I/O tensor named 'wrong'"):
        context.set_tensor_address("wrong", int(x))
    with pytest.raises(ValueError, match="one binding per I/O tensor"):
        context.execute_v2([int(x)])
    out = cuda.mem_alloc(4 * 10 * 4)
    assert context.execute_v2([int(x), int(out)])  # still usable


def test_execute_v2_runs_synchronously(dynamic_plans, weights, rng):
    context = load(dynamic_plans[False]).create_execution_context()
    x = rng.standard_normal((6, 784)).astype(np.float32)
    assert context.set_input_shape("input", x.shape)
    d_x = cuda.to_device(x)
    d_y = cuda.mem_alloc(6 * 10 * 4)
    assert context.execute_v2([int(d_x), int(d_y)])
    out = np.empty((6, 10), np.float32)
    cuda.memcpy_dtoh(out, d_y)
    assert relative_error(out, mlp_reference(x, weights)) <= FP32_TOLERANCE


def test_contexts_of_one_engine_run_in_parallel_threads(dynamic_plans, weights):
    engine = load(dynamic_plans[False])
    batches = [1, 7, 33, 64, 2, 19]
    inputs = {b: np.random.default_rng(b).standard_normal((b, 784)).astype(np.float32) for b in batches}
    expected = {b: infer(engine.create_execution_context(), {"input": x})["output"] for b, x in inputs.items()}
    failures = []

    def worker(seed: int) -> None:
        context = engine.create_execution_context()
        stream = cuda.Stream()
        try:
            for i in range(12):
                b = batches[(seed + i) % len(batches)]
                got = infer(context, {"input": inputs[b]}, stream)["output"]
                if not np.array_equal(got, expected[b]):
                    failures.append((seed, b))
        except Exception as error:  # reported below
            failures.append((seed, repr(error)))

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_loading_an_engine_compiles_no_kernels(dynamic_plans, tmp_path):
    """In a fresh process with an empty program cache, the engine's stored binaries are used."""
    for fp16 in (False, True):
        path = tmp_path / f"mlp_{fp16}.engine"
        path.write_bytes(dynamic_plans[fp16])
        code = f"""
import numpy as np, mlprt, mlprt.driver as cuda
engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(open({str(path)!r}, 'rb').read())
context = engine.create_execution_context()
context.set_input_shape('input', (3, 784))
x = cuda.to_device(np.ones((3, 784), np.float32)); y = cuda.mem_alloc(3 * 10 * 4)
context.execute_v2([int(x), int(y)])
stats = mlprt._core.program_cache_stats()
print(stats['compiled'], stats['installed_from_engine'])
"""
        result = run_python(code, env={"MLPRT_CACHE_DIR": str(tmp_path / f"empty-cache-{fp16}")})
        assert result.returncode == 0, result.stderr
        compiled, installed = map(int, result.stdout.split())
        assert compiled == 0 and installed >= 1, result.stdout


_RUN_IN_FRESH_PROCESS = """
import numpy as np, mlprt, mlprt.driver as cuda
engine = mlprt.Runtime(mlprt.Logger()).deserialize_cuda_engine(open({path!r}, 'rb').read())
context = engine.create_execution_context()
context.set_input_shape('input', (3, 784))
x = np.random.default_rng(3).standard_normal((3, 784)).astype(np.float32)
y = np.empty((3, 10), np.float32)
dx = cuda.to_device(x); dy = cuda.mem_alloc(y.nbytes)
context.execute_v2([int(dx), int(dy)])
cuda.memcpy_dtoh(y, dy)
np.save({out!r}, y)
stats = mlprt._core.program_cache_stats()
print(stats['compiled'], stats['installed_from_engine'])
"""


def test_engines_without_binaries_build_their_programs_when_loaded(weights, tmp_path, monkeypatch):
    """Where binaries are not kept (PoCL by default, any device with MLPRT_PROGRAM_BINARIES=0) the
    engine names its programs without binaries: a fresh process builds them from source and
    gives the same results as the engine that carries them."""
    setting = os.environ.get("MLPRT_PROGRAM_BINARIES")
    by_device = not mlprt._core.current_device().binary_costs_a_compile
    assert mlprt._core.program_binaries_kept() == (setting == "1" or (setting != "0" and by_device))
    plans = {}
    # One timing cache for both builds: the same tactics, so the same arithmetic (two separately
    # timed builds may choose differently where two candidates time alike, and then differ in the
    # last bits).
    cache = mlprt.Builder(RecordingLogger()).create_builder_config().create_timing_cache(b"")
    for keep in ("0", "1"):
        monkeypatch.setenv("MLPRT_PROGRAM_BINARIES", keep)
        assert mlprt._core.program_binaries_kept() == (keep == "1")
        plans[keep] = bytes(build(simple_mlp(weights), DYNAMIC, cache=cache))
    assert len(plans["0"]) < len(plans["1"])  # the same engine less its binaries
    outputs = {}
    for keep, plan in plans.items():
        path, out = tmp_path / f"mlp_{keep}.engine", tmp_path / f"y_{keep}.npy"
        path.write_bytes(plan)
        result = run_python(_RUN_IN_FRESH_PROCESS.format(path=str(path), out=str(out)),
                            env={"MLPRT_CACHE_DIR": str(tmp_path / f"empty-cache-{keep}"), "MLPRT_PROGRAM_BINARIES": keep})
        assert result.returncode == 0, result.stderr
        compiled, installed = map(int, result.stdout.split())
        if keep == "0":
            assert compiled >= 1 and installed == 0, result.stdout
        else:
            assert compiled == 0 and installed >= 1, result.stdout
        outputs[keep] = np.load(out)
    x = np.random.default_rng(3).standard_normal((3, 784)).astype(np.float32)
    assert relative_error(outputs["0"], mlp_reference(x, weights)) <= FP32_TOLERANCE
    np.testing.assert_array_equal(outputs["0"], outputs["1"])


def test_constants_are_folded_and_epilogues_fused(rng):
    """transpose(constant) folds into a constant; bias, BatchNorm-style scale/shift and the
    activation fuse into the GEMM: the whole network is one step."""
    w = rng.standard_normal((6, 9)).astype(np.float32)  # stored transposed: (out, in)
    bias = rng.standard_normal(6).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, 6).astype(np.float32)
    shift = rng.standard_normal(6).astype(np.float32)

    def populate(network):
        x = network.add_input("x", mlprt.DataType.FLOAT, (-1, 9))
        transpose = network.add_shuffle(network.add_constant((6, 9), w).get_output(0))
        transpose.first_transpose = [1, 0]
        y = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, transpose.get_output(0),
                                        mlprt.MatrixOperation.NONE).get_output(0)
        for value, op in ((bias, mlprt.ElementWiseOperation.SUM), (scale, mlprt.ElementWiseOperation.PROD),
                          (shift, mlprt.ElementWiseOperation.SUM)):
            y = network.add_elementwise(y, network.add_constant((1, 6), value.reshape(1, 6)).get_output(0),
                                        op).get_output(0)
        y = network.add_activation(y, mlprt.ActivationType.SIGMOID).get_output(0)
        y.name = "y"
        network.mark_output(y)

    logger = RecordingLogger()
    engine = load(bytes(build(populate, [{"x": ((1, 9), (4, 9), (11, 9))}], logger=logger)))
    assert engine.num_layers == 1
    summary = [m for _, m in logger.messages if m.startswith("built an engine")]
    assert "1 folded into constants, 4 fused into GEMMs" in summary[0]
    x = rng.standard_normal((11, 9)).astype(np.float32)
    expected = 1 / (1 + np.exp(-(((x.astype(np.float64) @ w.T) + bias) * scale + shift)))
    assert relative_error(infer(engine.create_execution_context(), {"x": x})["y"], expected) <= FP32_TOLERANCE


def test_unfusable_layers_still_run(rng):
    """A product used twice cannot absorb its consumers; both branches run as separate steps."""
    w = rng.standard_normal((5, 5)).astype(np.float32)

    def populate(network):
        x = network.add_input("x", mlprt.DataType.FLOAT, (3, 5))
        y = network.add_matrix_multiply(x, mlprt.MatrixOperation.NONE, network.add_constant((5, 5), w).get_output(0),
                                        mlprt.MatrixOperation.TRANSPOSE).get_output(0)
        a = network.add_activation(y, mlprt.ActivationType.TANH).get_output(0)
        s = network.add_elementwise(a, y, mlprt.ElementWiseOperation.SUM).get_output(0)
        s.name = "s"
        network.mark_output(s)
        y.name = "y"
        network.mark_output(y)

    engine = load(bytes(build(populate)))
    assert [engine.get_tensor_name(i) for i in range(3)] == ["x", "s", "y"]
    x = rng.standard_normal((3, 5)).astype(np.float32)
    out = infer(engine.create_execution_context(), {"x": x})
    y = x.astype(np.float64) @ w.T
    assert relative_error(out["y"], y) <= FP32_TOLERANCE
    assert relative_error(out["s"], np.tanh(y) + y) <= FP32_TOLERANCE
