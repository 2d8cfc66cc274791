"""Concatenations and slices that only move data become views of memory (builder/aliasing.h):
at batch 1 each input of a concatenation is a contiguous piece of its output, written there by
its producer, and a slice of one contiguous piece is read in place. Checked against the NumPy
reference of network_reference.py, with the builder's count of views, and where views must not
happen (a dynamic batch, an input joined twice, engine outputs)."""
from __future__ import annotations

import json
import re
from typing import Callable, Dict, Tuple

import numpy as np
import pytest

import mlprt
import network_reference
from engine_helpers import RecordingLogger, build, infer, load

ACT = mlprt.ActivationType
EW = mlprt.ElementWiseOperation


def _all_views(logger: RecordingLogger) -> Tuple[int, int, int]:
    """(concatenations, slices, reshapes) the builder turned into views, from its summary line."""
    for _, message in logger.messages:
        found = re.search(r"(\d+) concatenations, (\d+) slices and (\d+) reshapes as views", message)
        if found:
            return int(found.group(1)), int(found.group(2)), int(found.group(3))
    raise AssertionError("the builder did not say how many steps became views")


def _views(logger: RecordingLogger) -> Tuple[int, int]:
    """(concatenations, slices) the builder turned into views."""
    return _all_views(logger)[:2]


def _check(populate: Callable[[mlprt.INetworkDefinition], None], inputs: Dict[str, np.ndarray],
           profiles=(), fp16: bool = False) -> Tuple[int, int]:
    network = mlprt.Builder(RecordingLogger()).create_network(0)
    populate(network)
    expected = network_reference.evaluate(network, inputs)
    logger = RecordingLogger()
    plan = build(populate, profiles=profiles, logger=logger, fp16=fp16)
    assert plan is not None, logger.errors()
    context = load(plan).create_execution_context()
    for _ in range(2):  # the second run replays captured launches
        got = infer(context, inputs)
        for name, value in expected.items():
            np.testing.assert_allclose(got[name], value, rtol=1e-2 if fp16 else 1e-6, atol=1e-6, err_msg=name)
    return _views(logger)


def _c2f_like(batch: int):
    """x -> relu(x), 2x -> concat on channels; its two halves sliced back out, one through a
    sigmoid; the first piece also read elsewhere; a second concatenation of that concatenation
    (nested) is an engine output."""
    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.DataType.FLOAT, (batch, 6, 3, 5))
        a = network.add_activation(x, ACT.RELU).get_output(0)
        two = network.add_constant((1, 1, 1, 1), np.full((1, 1, 1, 1), 2.0, np.float32)).get_output(0)
        b = network.add_elementwise(x, two, EW.PROD).get_output(0)
        c = network.add_concatenation([a, b], axis=1).get_output(0)          # (batch, 12, 3, 5)
        n = -1 if batch < 0 else batch  # -1: the input's whole extent
        low = network.add_slice(c, (0, 0, 0, 0), (n, 5, 3, 5), (1, 1, 1, 1))
        high = network.add_slice(c, (0, 5, 0, 0), (n, 7, 3, 5), (1, 1, 1, 1))
        y0 = network.add_elementwise(low.get_output(0), two, EW.SUM).get_output(0)
        y1 = network.add_activation(high.get_output(0), ACT.SIGMOID).get_output(0)
        z = network.add_unary(a, mlprt.UnaryOperation.ABS).get_output(0)
        w = network.add_concatenation([z, c], axis=1).get_output(0)
        for name, tensor in (("y0", y0), ("y1", y1), ("w", w)):
            tensor.name = name
            network.mark_output(tensor)
    return populate


def test_a_batch_one_concatenation_and_its_slices_become_views(rng) -> None:
    x = rng.standard_normal((1, 6, 3, 5)).astype(np.float32)
    # The first concatenation (inputs written in place) and both slices (read in place); the
    # second concatenation writes an engine output, so it stays a copy.
    assert _check(_c2f_like(1), {"x": x}) == (1, 2)


def test_half_precision_views(rng) -> None:
    x = rng.standard_normal((1, 6, 3, 5)).astype(np.float32)
    # In FP16 the second concatenation writes a half tensor that a cast then copies to the float
    # engine output, so it becomes a view too.
    assert _check(_c2f_like(1), {"x": x}, fp16=True) == (2, 2)


def test_a_dynamic_batch_keeps_the_copies(rng) -> None:
    profile = {"x": ((1, 6, 3, 5), (2, 6, 3, 5), (3, 6, 3, 5))}
    for batch in (1, 3):
        x = rng.standard_normal((batch, 6, 3, 5)).astype(np.float32)
        assert _check(_c2f_like(-1), {"x": x}, profiles=[profile]) == (0, 0)


def test_a_tensor_joined_twice_or_read_by_two_concatenations_is_copied(rng) -> None:
    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.DataType.FLOAT, (1, 4, 7))
        a = network.add_activation(x, ACT.TANH).get_output(0)
        b = network.add_activation(x, ACT.SIGMOID).get_output(0)
        twice = network.add_concatenation([a, a], axis=1).get_output(0)       # a twice: a copy
        first = network.add_concatenation([b, x], axis=2).get_output(0)       # x is an engine input: a copy
        second = network.add_concatenation([b, a], axis=2).get_output(0)      # b, a free: views
        third = network.add_concatenation([b, twice], axis=1).get_output(0)   # b taken by `second`: a copy
        outs = [network.add_activation(t, ACT.RELU).get_output(0) for t in (twice, first, second, third)]
        for i, tensor in enumerate(outs):
            tensor.name = f"y{i}"
            network.mark_output(tensor)
    x = rng.standard_normal((1, 4, 7)).astype(np.float32)
    assert _check(populate, {"x": x}) == (1, 0)


def test_slices_that_are_not_one_contiguous_piece_are_copied(rng) -> None:
    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.DataType.FLOAT, (1, 6, 5))
        a = network.add_activation(x, ACT.RELU).get_output(0)
        pieces = [
            network.add_slice(a, (0, 1, 0), (1, 3, 5), (1, 1, 1)),   # rows 1-3: a view
            network.add_slice(a, (0, 0, 1), (1, 6, 3), (1, 1, 1)),   # columns of every row: a copy
            network.add_slice(a, (0, 0, 0), (1, 3, 5), (1, 2, 1)),   # every other row: a copy
            network.add_slice(a, (0, 0, 0), (1, 6, 5), (1, 1, 1)),   # the whole tensor: a view
            network.add_slice(a, (0, 4, 0), (1, 3, 5), (1, 1, 1), mode=mlprt.SampleMode.CLAMP),  # past the end: a copy
        ]
        for i, layer in enumerate(pieces):
            out = network.add_activation(layer.get_output(0), ACT.SIGMOID).get_output(0)
            out.name = f"y{i}"
            network.mark_output(out)
    x = rng.standard_normal((1, 6, 5)).astype(np.float32)
    assert _check(populate, {"x": x}) == (0, 2)


def test_the_pieces_of_a_split_joined_in_order_place_the_split_tensor_itself(rng) -> None:
    """YOLO's C2f: cv1's output is split in two halves, the second goes through a bottleneck, and
    all three are joined. The split tensor itself is placed in the concatenation, so both slices
    and the concatenation go; a split whose pieces are joined out of order keeps its slices."""
    def c2f(order):
        def populate(network: mlprt.INetworkDefinition) -> None:
            x = network.add_input("x", mlprt.DataType.FLOAT, (1, 6, 3, 5))
            a = network.add_activation(x, ACT.RELU).get_output(0)
            low = network.add_slice(a, (0, 0, 0, 0), (1, 2, 3, 5), (1, 1, 1, 1)).get_output(0)
            high = network.add_slice(a, (0, 2, 0, 0), (1, 4, 3, 5), (1, 1, 1, 1)).get_output(0)
            m = network.add_activation(high, ACT.SIGMOID).get_output(0)
            pieces = {"low": low, "high": high, "m": m}
            joined = network.add_concatenation([pieces[p] for p in order], axis=1).get_output(0)
            y = network.add_activation(joined, ACT.TANH).get_output(0)
            y.name = "y"
            network.mark_output(y)
        return populate
    x = rng.standard_normal((1, 6, 3, 5)).astype(np.float32)
    assert _check(c2f(("low", "high", "m")), {"x": x}) == (1, 2)
    # The inspector shows the placement: relu writes the first 6 x 15 floats of what tanh reads,
    # the sigmoid the 4 x 15 after them.
    engine = load(build(c2f(("low", "high", "m"))))
    inspector = engine.create_engine_inspector()
    layers = [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))
              for i in range(engine.num_layers)]
    assert [layer["LayerType"] for layer in layers] == ["Activation"] * 3  # no slice, no concatenation
    assert all(t["Format"] == "LINEAR" for layer in layers for t in layer["Inputs"] + layer["Outputs"])
    relu, sigmoid, tanh = layers  # in execution order
    joined = tanh["Inputs"][0]["ArenaOffset"]
    assert relu["Outputs"][0]["ArenaOffset"] == joined
    assert sigmoid["Outputs"][0]["ArenaOffset"] == joined + 6 * 15 * 4
    # Out of order the slices stay (they write their pieces into the concatenation).
    assert _check(c2f(("high", "low", "m")), {"x": x}) == (1, 0)


def test_a_reshape_is_a_view_of_its_input_unless_it_transposes(rng) -> None:
    """(2, 3, 4) -> reshape (6, 4) -> +1: the reshape reads its input in place, at a static or a
    dynamic batch (a dynamic one keeps its step, for the output's shape, which launches nothing);
    a shuffle that also transposes stays a copy."""
    def populate(batch: int):
        def build_network(network: mlprt.INetworkDefinition) -> None:
            x = network.add_input("x", mlprt.DataType.FLOAT, (batch, 3, 4))
            a = network.add_activation(x, ACT.RELU).get_output(0)
            flat = network.add_shuffle(a)
            flat.reshape_dims = (-1, 4)
            turned = network.add_shuffle(a)
            turned.first_transpose = (0, 2, 1)
            one = network.add_constant((1, 1), np.ones((1, 1), np.float32)).get_output(0)
            y = network.add_elementwise(flat.get_output(0), one, EW.SUM).get_output(0)
            z = network.add_unary(turned.get_output(0), mlprt.UnaryOperation.NEG).get_output(0)
            for name, tensor in (("y", y), ("z", z)):
                tensor.name = name
                network.mark_output(tensor)
        return build_network

    for batch, profiles in ((2, ()), (-1, [{"x": ((1, 3, 4), (2, 3, 4), (3, 3, 4))}])):
        logger = RecordingLogger()
        plan = build(populate(batch), profiles=profiles, logger=logger)
        assert plan is not None, logger.errors()
        assert _all_views(logger)[2] == 1
        cases = []
        for rows in ((2,) if batch > 0 else (3, 1, 2)):
            x = rng.standard_normal((rows, 3, 4)).astype(np.float32)
            network = mlprt.Builder(RecordingLogger()).create_network(0)
            populate(rows)(network)
            cases.append((rows, x, network_reference.evaluate(network, {"x": x})))
        run_logger = RecordingLogger()  # the runtime's (the last logger made is the one it logs to)
        context = load(plan, run_logger).create_execution_context()
        for rows, x, expected in cases:
            got = infer(context, {"x": x})
            for name, value in expected.items():
                np.testing.assert_allclose(got[name], value, rtol=1e-6, err_msg=f"{name} at batch {rows}")
        if batch < 0:  # the reshape's step ran (its shape) and launched nothing
            captured = [m for _, m in run_logger.messages if "kernel launch(es) captured" in m]
            assert any(m.startswith("step 'Shuffle_1': 0 kernel") for m in captured), captured


def test_a_shuffle_that_changes_nothing_is_dropped(rng) -> None:
    """At a dynamic batch and length, reshape (0, 0, 5) of a (B, S, 5) tensor and an identity
    transpose give back their input: the readers read the input, no step is left for them. A
    reshape to (0, -1, 5) (it could move elements between axes: not provably the same), one that
    is an engine output, and a real transpose stay."""
    def populate(network: mlprt.INetworkDefinition) -> None:
        x = network.add_input("x", mlprt.DataType.FLOAT, (-1, -1, 5))
        a = network.add_activation(x, ACT.RELU).get_output(0)
        same = network.add_shuffle(a)
        same.reshape_dims = (0, 0, 5)
        identity = network.add_shuffle(same.get_output(0))
        identity.first_transpose = (0, 1, 2)
        inferred = network.add_shuffle(a)
        inferred.reshape_dims = (0, -1, 5)
        as_output = network.add_shuffle(a)
        as_output.reshape_dims = (0, 0, 5)
        turned = network.add_shuffle(a)
        turned.first_transpose = (1, 0, 2)
        y = network.add_unary(identity.get_output(0), mlprt.UnaryOperation.NEG).get_output(0)
        z = network.add_unary(inferred.get_output(0), mlprt.UnaryOperation.ABS).get_output(0)
        for name, tensor in (("y", y), ("z", z), ("w", as_output.get_output(0)), ("t", turned.get_output(0))):
            tensor.name = name
            network.mark_output(tensor)

    x = rng.standard_normal((2, 7, 5)).astype(np.float32)
    network = mlprt.Builder(RecordingLogger()).create_network(0)
    populate(network)
    expected = network_reference.evaluate(network, {"x": x})
    logger = RecordingLogger()
    plan = build(populate, profiles=[{"x": ((1, 1, 5), (2, 7, 5), (3, 9, 5))}], logger=logger)
    assert plan is not None, logger.errors()
    got = infer(load(plan).create_execution_context(), {"x": x})
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-6, err_msg=name)
    assert logger.summary_count("shuffles that changed nothing dropped") == 2
    engine = load(plan)
    inspector = engine.create_engine_inspector()
    types = [json.loads(inspector.get_layer_information(i, mlprt.LayerInformationFormat.JSON))["LayerType"]
             for i in range(engine.num_layers)]
    assert types.count("Shuffle") == 3, types  # (0, -1, 5), the engine output and the transpose
