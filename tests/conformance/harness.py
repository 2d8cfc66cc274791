"""ONNX's conformance suite (the one inside the installed ``onnx`` package) through
``mlprt.backend``, case by case in worker processes.

The cases, each named ``KIND/NAME``:

- ``node/...``: ``onnx.backend.test.case.node.collect_testcases()`` (generated in the parent and
  sent to the workers), compared with the case's rtol/atol;
- ``pytorch-converted/...``, ``pytorch-operator/...``, ``simple/...``: the data folders under
  ``onnx/backend/test/data/`` (``model.onnx`` + ``test_data_set_*``), rtol/atol from the folder's
  ``data.json`` or onnx's defaults 1e-3 / 1e-7. ``real/`` needs a download and is left out;
- ``light/...``: the 9 light model-zoo networks of ``data/light/``, run on random inputs and
  compared against ONNX Runtime on the same inputs (1e-3 / 1e-7, onnx's defaults).

Outcomes: ``pass``; ``fail`` (mlprt refused the model or raised: ``reason`` is the category,
``detail`` the message); ``wrong`` (ran and gave another answer: a bug, never an expected
failure); ``crash`` / ``hang`` (the worker died or ran past the per-case timeout: a bug too).

Workers are spawned processes, each reused for many cases; a dead or hung one is replaced and
its case reported. ``mode="ort"`` runs the same cases through ``onnxruntime.backend`` (the
measurement of which cases count).
"""
from __future__ import annotations

import glob
import json
import multiprocessing
import os
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

HERE = Path(__file__).resolve().parent
EXPECTED_FILE = HERE / "expected_failures.txt"
ORT_FAILING_FILE = HERE / "ort_failing.txt"
SUMMARY_FILE = HERE / "summary.json"
# NAME<TAB>RTOL<TAB>REASON: cases whose expected outputs are themselves further from the exact
# result than ONNX's tolerance allows, compared with the stated tolerance instead.
TOLERANCE_FILE = HERE / "tolerances.txt"

DEFAULT_RTOL, DEFAULT_ATOL = 1e-3, 1e-7
DATA_KINDS = ("pytorch-converted", "pytorch-operator", "simple")
DEFAULT_TIMEOUT = 420.0        # seconds per case: on a fresh PoCL cache the first GEMM build compiles
                               # every GEMM tactic (measured 100-200 s on a loaded 2-core machine)
BAD_OUTCOMES = ("wrong", "crash", "hang")


def data_dir() -> Path:
    import onnx.backend.test
    return Path(onnx.backend.test.__file__).resolve().parent / "data"


# ---- cases -----------------------------------------------------------------------------------

@dataclass
class Case:
    name: str                         # "node/test_abs", "simple/test_expand_shape_model1", ...
    kind: str
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    model: Optional[bytes] = None     # node cases: the model's bytes
    data_sets: Optional[list] = None  # node cases: [(inputs, outputs), ...]
    path: Optional[str] = None        # data folders: the folder; light: the model file
    ops: frozenset = frozenset()      # the model's op types (scheduling: see run_cases)


def _ops(model: Any) -> frozenset:
    return frozenset(n.op_type for n in model.graph.node)


def node_cases() -> List[Case]:
    import warnings

    import onnx.backend.test.case.node as node
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = node.collect_testcases()
    return [Case(f"node/{c.name}", "node", float(c.rtol), float(c.atol), model=c.model.SerializeToString(),
                 data_sets=[(_values(i), _values(o)) for i, o in c.data_sets], ops=_ops(c.model)) for c in cases]


def _values(values: Any) -> Any:
    """A node case's inputs or outputs as arrays: some cases (Cast's, among others) store them as
    TensorProto, which neither runtime takes."""
    from onnx import TensorProto, numpy_helper

    if isinstance(values, dict):
        return {k: numpy_helper.to_array(v) if isinstance(v, TensorProto) else v for k, v in values.items()}
    return [numpy_helper.to_array(v) if isinstance(v, TensorProto) else v for v in values]


def folder_cases() -> List[Case]:
    import onnx
    cases = []
    for kind in DATA_KINDS:
        for folder in sorted((data_dir() / kind).iterdir()):
            if not (folder / "model.onnx").is_file():
                continue
            rtol, atol = DEFAULT_RTOL, DEFAULT_ATOL
            if (folder / "data.json").is_file():
                info = json.loads((folder / "data.json").read_text())
                rtol, atol = float(info.get("rtol", rtol)), float(info.get("atol", atol))
            ops = _ops(onnx.load(str(folder / "model.onnx"), load_external_data=False))
            cases.append(Case(f"{kind}/{folder.name}", kind, rtol, atol, path=str(folder), ops=ops))
    return cases


def light_cases() -> List[Case]:
    import onnx
    return [Case(f"light/{Path(p).stem}", "light", path=p, ops=_ops(onnx.load(p, load_external_data=False)))
            for p in sorted(glob.glob(str(data_dir() / "light" / "*.onnx")))]


def all_cases() -> List[Case]:
    """Every case of the installed onnx's suite but ``real`` (which needs a download), with the
    relative tolerances of tolerances.txt."""
    cases = node_cases() + folder_cases() + light_cases()
    for name, entry in read_list(TOLERANCE_FILE).items():
        rtol = float(entry.partition("\t")[0])
        for case in cases:
            if case.name == name:
                case.rtol = rtol
    return cases


# ---- running one case (in a worker) ----------------------------------------------------------

def _load_value(path: str, type_proto: Any) -> Any:
    import onnx
    from onnx import numpy_helper
    data = Path(path).read_bytes()
    which = type_proto.WhichOneof("value")
    if which == "sequence_type":
        proto = onnx.SequenceProto()
        proto.ParseFromString(data)
        return numpy_helper.to_list(proto)
    if which == "optional_type":
        proto = onnx.OptionalProto()
        proto.ParseFromString(data)
        return numpy_helper.to_optional(proto)
    proto = onnx.TensorProto()
    proto.ParseFromString(data)
    return numpy_helper.to_array(proto)


def _folder_data(case: Case, model: Any) -> List[Tuple[list, list]]:
    sets = []
    for folder in sorted(glob.glob(os.path.join(case.path, "test_data_set*"))):
        inputs = [_load_value(os.path.join(folder, f"input_{i}.pb"), model.graph.input[i].type)
                  for i in range(len(glob.glob(os.path.join(folder, "input_*.pb"))))]
        outputs = [_load_value(os.path.join(folder, f"output_{i}.pb"), model.graph.output[i].type)
                   for i in range(len(glob.glob(os.path.join(folder, "output_*.pb"))))]
        sets.append((inputs, outputs))
    return sets


def _light_inputs(model: Any, name: str, random: bool) -> List[np.ndarray]:
    from onnx.backend.test.runner import Runner
    initializers = {i.name for i in model.graph.initializer}
    return [Runner.generate_dummy_data(x, seed=0, name=name, random=random)
            for x in model.graph.input if x.name not in initializers]


def compare(expected: Sequence[Any], got: Sequence[Any], rtol: float, atol: float) -> None:
    """onnx's runner's check (Runner.assert_similar_outputs): same count, shapes, dtypes, and
    values within rtol/atol. Raises AssertionError."""
    from onnx.backend.test.runner import Runner
    Runner.assert_similar_outputs(list(expected), list(got), rtol=rtol, atol=atol)


_NAME = r"'[^']*'"


def category(message: str) -> str:
    """The one-line reason of an error: its first meaningful line, without node and tensor names
    and numbers, so that equal causes group together."""
    lines = [l.strip() for l in str(message).splitlines() if l.strip()]
    if lines and lines[0].startswith("mlprt cannot") and len(lines) > 1:
        lines = lines[1:]
    text = lines[0] if lines else "no reason given"
    text = re.sub(r"^node \d+ '[^']*' \(([^)]*)\): ", "", text)       # ParserError.where()
    text = re.sub(r"\s*\[[A-Z_]+\]$", "", text)                      # [UNSUPPORTED_NODE]
    text = re.sub(r"^(step|layer|tensor|input|output|node) '[^']*'(: )?", "", text)
    text = re.sub(_NAME, "'…'", text)
    text = re.sub(r"\(\d+(, ?\d+)*,?\)|\[\d+(, ?\d+)*\]", "(…)", text)
    text = re.sub(r"(?<!opset )(?<!opsets )(?<! to )\b\d+(\.\d+)?\b", "N", text)   # opsets stay
    text = re.sub(r"\s+", " ", text).strip()
    return text[:150]


def run_case(case: Case, mode: str = "mlprt") -> Dict[str, Any]:
    """Runs one case; returns {"outcome": pass|fail|wrong, "reason", "detail", "seconds"}."""
    import onnx
    start = time.perf_counter()
    if case.kind == "crash-test":                     # the harness's own tests: a worker that dies
        import ctypes                                 # (a real fault: PoCL swallows a SIGSEGV sent by kill)
        ctypes.string_at(0)
    if case.kind == "hang-test":                      # ... and one that never answers
        time.sleep(3600)
    try:
        if case.kind == "node":
            model = onnx.load_model_from_string(case.model)
            sets = case.data_sets or []
        elif case.kind == "light":
            model = onnx.load(case.path)
            sets = None
        else:
            model = onnx.load(os.path.join(case.path, "model.onnx"))
            sets = _folder_data(case, model)
        if mode == "ort":
            result = _run_ort(case, model, sets)
        else:
            result = _run_mlprt(case, model, sets)
    except Exception as error:  # noqa: BLE001  (a case's failure, reported, never raised)
        result = {"outcome": "fail", "reason": "harness: " + category(f"{type(error).__name__}: {error}"),
                  "detail": traceback.format_exc()[-2000:]}
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def _ort_session(model: Any) -> Any:
    import onnxruntime.backend as ort_backend
    return ort_backend.prepare(model, "CPU", log_severity_level=3)


def _run_ort(case: Case, model: Any, sets: Optional[list]) -> Dict[str, Any]:
    try:
        rep = _ort_session(model)
        if sets is None:                              # light: onnx's own check (stored output)
            prefix = os.path.splitext(case.path)[0]
            import onnx
            expected = [_load_value(f"{prefix}_output_{i}.pb", o.type) for i, o in enumerate(model.graph.output)]
            sets = [(_light_inputs(model, case.name, random=False), expected)]
        for inputs, expected in sets:
            got = rep.run(inputs)
            compare(expected, list(got), case.rtol, case.atol)
    except AssertionError as error:
        return {"outcome": "fail", "reason": "ONNX Runtime's outputs differ from the case's",
                "detail": str(error)[:2000]}
    except Exception as error:  # noqa: BLE001
        return {"outcome": "fail", "reason": category(f"{type(error).__name__}: {error}"),
                "detail": str(error)[:2000]}
    return {"outcome": "pass"}


def _run_mlprt(case: Case, model: Any, sets: Optional[list]) -> Dict[str, Any]:
    import mlprt.backend as backend
    try:
        rep = backend.prepare(model, "CPU")
    except backend.BackendError as error:
        return {"outcome": "fail", "reason": category(str(error)), "detail": str(error)[:2000], "stage": error.stage}
    except Exception as error:  # noqa: BLE001  (not a BackendError: a bug worth a look, still a failure)
        return {"outcome": "fail", "reason": f"prepare raised {type(error).__name__}: " + category(str(error)),
                "detail": traceback.format_exc()[-2000:], "stage": "prepare"}
    if sets is None:                                  # light: ONNX Runtime on random inputs
        inputs = _light_inputs(model, case.name, random=True)
        sets = [(inputs, list(_ort_session(model).run(inputs)))]
    for index, (inputs, expected) in enumerate(sets):
        try:
            got = list(rep.run(inputs))
        except backend.BackendError as error:         # a dynamic model builds at its first run
            return {"outcome": "fail", "reason": category(str(error)), "detail": str(error)[:2000],
                    "stage": error.stage}
        except Exception as error:  # noqa: BLE001
            return {"outcome": "fail", "reason": f"run raised {type(error).__name__}: " + category(str(error)),
                    "detail": traceback.format_exc()[-2000:], "stage": "run"}
        try:
            compare(expected, got, case.rtol, case.atol)
        except AssertionError as error:
            return {"outcome": "wrong", "reason": "wrong answer",
                    "detail": f"data set {index} (rtol {case.rtol}, atol {case.atol}): {str(error)[:1800]}"}
    return {"outcome": "pass"}


# ---- the pool ----------------------------------------------------------------------------

def _worker(conn: Any, mode: str) -> None:
    import warnings
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    while True:
        try:
            case = conn.recv()
        except EOFError:
            return
        if case is None:
            return
        conn.send(run_case(case, mode))


@dataclass
class _Slot:
    process: Any
    conn: Any
    case: Optional[Case] = None
    started: float = 0.0


@dataclass
class RunReport:
    results: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    def names(self, *outcomes: str) -> List[str]:
        return sorted(n for n, r in self.results.items() if r["outcome"] in outcomes)


def run_cases(cases: Sequence[Case], mode: str = "mlprt", workers: int = 2,
              timeout: float = DEFAULT_TIMEOUT,
              progress: Optional[Callable[[str, Dict[str, Any]], None]] = None) -> RunReport:
    """Runs ``cases`` on ``workers`` spawned processes; a crashed worker (its case: ``crash``)
    or one past ``timeout`` seconds on a case (``hang``, killed) is replaced."""
    context = multiprocessing.get_context("spawn")
    report = RunReport()
    start = time.perf_counter()
    pending = list(cases)
    pending.reverse()

    def spawn() -> _Slot:
        parent, child = context.Pipe()
        process = context.Process(target=_worker, args=(child, mode), daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent)

    slots = [spawn() for _ in range(max(1, min(workers, len(cases))))]
    from multiprocessing.connection import wait

    def finish(slot: _Slot, result: Dict[str, Any]) -> None:
        assert slot.case is not None
        seen.update(slot.case.ops)
        report.results[slot.case.name] = result
        if progress is not None:
            progress(slot.case.name, result)
        slot.case = None

    def replace(index: int) -> None:
        slot = slots[index]
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join(10)
        slot.conn.close()
        slots[index] = spawn()

    # Kernels compile on first use (PoCL's and mlprt's caches are empty on a fresh machine), and
    # two workers meeting the same uncompiled kernels both compile them. So a case waits while
    # another worker runs the first case of one of its operators: each operator's kernels are
    # compiled by one worker while the other runs cases of operators already seen.
    seen: set = set()

    def next_case(others: List[Case]) -> Optional[Case]:
        warming = set().union(*(c.ops - seen for c in others)) if others else set()
        for position in range(len(pending) - 1, -1, -1):
            if not (pending[position].ops & warming):
                return pending.pop(position)
        return None

    while True:
        for slot in slots:
            if slot.case is None and pending:
                slot.case = next_case([s.case for s in slots if s.case is not None])
                if slot.case is None:
                    continue
                slot.started = time.perf_counter()
                try:
                    slot.conn.send(slot.case)
                except (BrokenPipeError, OSError):
                    pass                                  # found dead below
        busy = [s for s in slots if s.case is not None]
        if not busy:
            break
        ready = wait([s.conn for s in busy] + [s.process.sentinel for s in busy], timeout=1.0)
        now = time.perf_counter()
        for index, slot in enumerate(slots):
            if slot.case is None:
                continue
            if slot.conn in ready or slot.conn.poll():
                try:
                    finish(slot, slot.conn.recv())
                    continue
                except (EOFError, OSError):
                    pass
            if not slot.process.is_alive():
                code = slot.process.exitcode
                finish(slot, {"outcome": "crash", "reason": "worker died",
                              "detail": f"the worker process ended with exit code {code} "
                                        f"({_signal_name(code)}) inside this case", "seconds": round(now - slot.started, 3)})
                replace(index)
            elif now - slot.started > timeout:
                finish(slot, {"outcome": "hang", "reason": "timeout",
                              "detail": f"no result after {timeout:.0f} s; the worker was killed",
                              "seconds": round(now - slot.started, 3)})
                replace(index)
    for slot in slots:
        try:
            slot.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
    for slot in slots:
        slot.process.join(10)
        if slot.process.is_alive():
            slot.process.kill()
    report.seconds = time.perf_counter() - start
    return report


def _signal_name(code: Optional[int]) -> str:
    import signal
    if code is not None and code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return "exited"


# ---- the committed lists -----------------------------------------------------------------

def read_list(path: Path) -> Dict[str, str]:
    """``NAME<TAB>REASON`` lines (``#`` comments, blank lines ignored) -> {name: reason}."""
    entries: Dict[str, str] = {}
    if not path.is_file():
        return entries
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, reason = line.partition("\t")
        entries[name.strip()] = reason.strip()
    return entries


def write_list(path: Path, header: str, entries: Dict[str, str]) -> None:
    lines = [f"# {l}" if l else "#" for l in header.splitlines()]
    lines += [f"{name}\t{reason}" for name, reason in sorted(entries.items())]
    path.write_text("\n".join(lines) + "\n")


def counted_cases(cases: Optional[Iterable[Case]] = None) -> List[Case]:
    """The cases that count: all but those ONNX Runtime fails (ort_failing.txt)."""
    ort_failing = read_list(ORT_FAILING_FILE)
    return [c for c in (all_cases() if cases is None else cases) if c.name not in ort_failing]
