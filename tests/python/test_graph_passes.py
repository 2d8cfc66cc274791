"""Builder passes that remove repeated work (builder/common_subexpressions.h): equal small
constants become one tensor, and a node that repeats an earlier one (same kind, parameters, inputs
and epilogue) is replaced by the earlier one's result, so exporters' per-layer copies of the same
computation (BERT's attention-mask bias) run once. Checked against the NumPy reference of
network_reference.py, with the builder's count and the engine's layers."""
from __future__ import annotations

import json
from typing import List

import numpy as np

import mlprt
import network_reference
from engine_helpers import RecordingLogger, build, infer, load

ACT = mlprt.ActivationType
EW = mlprt.ElementWiseOperation


def _types(plan: bytes) -> List[str]:
    engine = load(plan)
    inspector = engine.create_engine_inspector()
    return [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))["LayerType"]
            for i in range(engine.num_layers)]


def test_repeated_computations_run_once(rng) -> None:
    """x * 2 twice (two constant layers of the same value), sigmoid of each, their sum; and x * 3
    (another value: kept), a softmax with another axis (other parameters: kept), and a repeat that
    is an engine output (kept): 8 layers in, the two repeats out."""
    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.DataType.FLOAT, (-1, 6))
        products = []
        for factor in (2.0, 2.0, 3.0):
            constant = network.add_constant((1, 1), np.full((1, 1), factor, np.float32)).get_output(0)
            products.append(network.add_elementwise(x, constant, EW.PROD).get_output(0))
        s1 = network.add_activation(products[0], ACT.SIGMOID).get_output(0)
        s2 = network.add_activation(products[1], ACT.SIGMOID).get_output(0)
        s3 = network.add_activation(products[2], ACT.SIGMOID).get_output(0)
        total = network.add_elementwise(network.add_elementwise(s1, s2, EW.SUM).get_output(0), s3, EW.SUM)
        soft0 = network.add_softmax(x)
        soft0.axes = 1 << 0
        soft1 = network.add_softmax(x)
        soft1.axes = 1 << 1
        both = network.add_elementwise(soft0.get_output(0), soft1.get_output(0), EW.SUM).get_output(0)
        again = network.add_activation(products[0], ACT.SIGMOID).get_output(0)
        for name, tensor in (("y", total.get_output(0)), ("z", both), ("w", again)):
            tensor.name = name
            network.mark_output(tensor)

    x = rng.standard_normal((5, 6)).astype(np.float32)
    network = mlprt.Builder(RecordingLogger()).create_network(0)
    populate(network)
    expected = network_reference.evaluate(network, {"x": x})
    logger = RecordingLogger()
    plan = build(populate, profiles=[{"x": ((1, 6), (4, 6), (7, 6))}], logger=logger)
    assert plan is not None, logger.errors()
    got = infer(load(plan).create_execution_context(), {"x": x})
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-6, err_msg=name)
    assert logger.summary_count("repeated computations merged") == 2  # the second x * 2 and its sigmoid
    types = _types(plan)
    assert types.count("Activation") == 3, types  # sigmoid of x * 2, of x * 3, and the output's own
    assert types.count("Softmax") == 2, types
