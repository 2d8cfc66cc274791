"""The tutorial workflow on the model zoo: every model exported by both PyTorch exporters, static
and dynamic, parsed, built in FP32 and FP16, saved and loaded, run with pinned buffers at batch 1,
a prime and the profile's max, and compared with ONNX Runtime and PyTorch."""
from __future__ import annotations

from typing import Dict

import numpy as np
import onnxruntime
import pytest
import torch

import mlprt
from engine_helpers import RecordingLogger, build_onnx, infer, relative_error
from zoo import EXPORTERS, STATIC_BATCH, ZOO, zoo_exports  # noqa: F401  (zoo_exports: fixture)

PROFILE = ((1,), (16,), (64,))  # batch extents of the dynamic profile
DYNAMIC_BATCHES = (1, 13, 64)
TOLERANCE = {False: 1e-5, True: 1e-2}


def torch_outputs(spec, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    with torch.no_grad():
        result = spec.module()(*[torch.from_numpy(feeds[name]) for name, _ in spec.inputs])
    if isinstance(result, torch.Tensor):
        result = (result,)
    return {name: value.numpy() for name, value in zip(spec.outputs, result)}


@pytest.mark.parametrize("fp16", [False, True], ids=["fp32", "fp16"])
@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_engine_matches_onnxruntime_and_pytorch(zoo_exports, name, exporter, dynamic, fp16):
    spec = ZOO[name]
    path = zoo_exports.get(name, exporter, dynamic)
    engine = build_onnx(path, spec, PROFILE if dynamic else None, fp16)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    context = engine.create_execution_context()
    for batch in (DYNAMIC_BATCHES if dynamic else (STATIC_BATCH,)):
        feeds = spec.example_inputs(batch, seed=batch)
        got = infer(context, feeds)
        by_onnxruntime = dict(zip(spec.outputs, session.run(list(spec.outputs), feeds)))
        by_torch = torch_outputs(spec, feeds)
        for output in spec.outputs:
            assert got[output].shape == by_onnxruntime[output].shape
            for reference, label in ((by_onnxruntime[output], "ONNX Runtime"), (by_torch[output], "PyTorch")):
                error = relative_error(got[output], reference)
                assert error <= TOLERANCE[fp16], f"{output} at batch {batch}: {error:.3g} vs {label}"


def test_batches_outside_the_profile_are_refused(zoo_exports):
    spec = ZOO["simple_mlp"]
    engine = build_onnx(zoo_exports.get("simple_mlp", "legacy", True), spec, PROFILE)
    logger = RecordingLogger()
    mlprt.Runtime(logger)  # routes messages to this logger
    context = engine.create_execution_context()
    assert not context.set_input_shape("input", (65, 784))
    assert "outside optimization profile 0" in logger.errors()
    assert context.set_input_shape("input", (64, 784))


@pytest.mark.parametrize("fp16", [False, True], ids=["fp32", "fp16"])
def test_the_tutorial_workflow_runs_as_written(zoo_exports, tmp_path, monkeypatch, fp16):
    """The issue's tutorial code, only the file names differ."""
    import shutil
    shutil.copy(zoo_exports.get("simple_mlp", "legacy", True), tmp_path / "simple_mlp_dynamic.onnx")
    monkeypatch.chdir(tmp_path)

    import mlprt, mlprt.driver as cuda, numpy as np  # noqa: E401, F811 (as the tutorial writes it)
    logger = mlprt.Logger(mlprt.Logger.WARNING)
    builder = mlprt.Builder(logger)
    network = builder.create_network(1 << int(mlprt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = mlprt.OnnxParser(network, logger)
    if not parser.parse(open("simple_mlp_dynamic.onnx", "rb").read()):
        for i in range(parser.num_errors):
            print(parser.get_error(i))
    config = builder.create_builder_config()
    config.set_memory_pool_limit(mlprt.MemoryPoolType.WORKSPACE, 1 << 30)
    if fp16:
        config.set_flag(mlprt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    profile.set_shape("input", (1, 784), (32, 784), (64, 784))
    config.add_optimization_profile(profile)
    config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)
    plan = builder.build_serialized_network(network, config)
    open("simple_mlp_dynamic.engine", "wb").write(plan)
    engine = mlprt.Runtime(logger).deserialize_cuda_engine(open("simple_mlp_dynamic.engine", "rb").read())
    context = engine.create_execution_context()
    context.set_input_shape("input", (40, 784))
    stream = cuda.Stream()
    host, device = {}, {}
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        shape = context.get_tensor_shape(name)
        host[name] = cuda.pagelocked_empty(mlprt.volume(shape), mlprt.nptype(engine.get_tensor_dtype(name)))
        device[name] = cuda.mem_alloc(host[name].nbytes)
        context.set_tensor_address(name, int(device[name]))
    x = np.random.default_rng(40).standard_normal((40, 784)).astype(np.float32)
    np.copyto(host["input"], x.ravel())
    cuda.memcpy_htod_async(device["input"], host["input"], stream)
    context.execute_async_v3(stream.handle)
    cuda.memcpy_dtoh_async(host["output"], device["output"], stream)
    stream.synchronize()

    expected = torch_outputs(ZOO["simple_mlp"], {"input": x})["output"]
    assert relative_error(host["output"].reshape(40, 10), expected) <= TOLERANCE[fp16]
