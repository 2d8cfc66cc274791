"""Runs ONNX's conformance suite through ``mlprt.backend`` and checks it against the committed
expected-failure list.

    python tests/conformance/run.py                    # run, report, exit 1 on any problem
    python tests/conformance/run.py --update-expected  # rewrite expected_failures.txt + summary.json
    python tests/conformance/run.py --measure-ort      # rewrite ort_failing.txt (ONNX Runtime's run)
    python tests/conformance/run.py --only node/test_relu --only 'node/test_add*' -v

After ``--update-expected`` regenerate docs/operators.md
(``python -m mlprt.onnx_parser --markdown > docs/operators.md``), which shows summary.json's counts.
``--update-expected`` refuses to write while any case gives a wrong answer, crashes or hangs:
those are bugs, never expected failures.
"""
from __future__ import annotations

import argparse
import collections
import fnmatch
import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

# mlprt is the installed one (scripts/bootstrap.sh), or whatever PYTHONPATH names: never the source
# tree behind the caller's back (it has no compiled _core), and nothing leaks into the environment
# of processes that import this module (the pytest suite's subprocesses).
sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

EXPECTED_HEADER = """\
ONNX conformance cases (onnx's own suite) that mlprt fails today, one per line: CASE<TAB>REASON.
The list only shrinks: tests/python/test_onnx_conformance.py fails when a listed case passes
(remove it) and when a case not listed fails. Wrong answers, crashes and hangs are bugs and
never belong here. Regenerate from a run: python tests/conformance/run.py --update-expected"""

ORT_HEADER = """\
Cases of the installed onnx's suite that ONNX Runtime fails, left out of mlprt's count: CASE<TAB>ORT's error.
Measured with: python tests/conformance/run.py --measure-ort"""


def select(cases: Sequence[harness.Case], patterns: Optional[List[str]]) -> List[harness.Case]:
    if not patterns:
        return list(cases)
    return [c for c in cases if any(fnmatch.fnmatchcase(c.name, p) for p in patterns)]


def problems(report: harness.RunReport, expected: Dict[str, str], complete: bool) -> List[str]:
    """What makes CI fail, one line each. ``complete``: the report covers every counted case
    (then listed cases that no longer exist are problems too)."""
    lines = []
    for name in report.names("wrong"):
        lines.append(f"WRONG ANSWER {name}: {report.results[name]['detail']}")
    for name in report.names("crash", "hang"):
        r = report.results[name]
        lines.append(f"{r['outcome'].upper()} {name}: {r['detail']}")
    for name in report.names("fail"):
        if name not in expected:
            r = report.results[name]
            lines.append(f"NEW FAILURE {name} (not in tests/conformance/expected_failures.txt): "
                         f"{r['reason']}\n    {r['detail'].splitlines()[-1] if r['detail'] else ''}")
    for name in report.names("pass"):
        if name in expected:
            lines.append(f"NOW PASSES {name}: remove it from tests/conformance/expected_failures.txt "
                         "(or run python tests/conformance/run.py --update-expected)")
    if complete:
        for name in sorted(set(expected) - set(report.results)):
            lines.append(f"STALE ENTRY {name}: no such case in the installed onnx's suite (or ONNX Runtime "
                         "fails it); remove it from tests/conformance/expected_failures.txt")
    return lines


def summary(report: harness.RunReport, total: int, ort_failing: int) -> Dict[str, object]:
    import onnx
    try:
        import onnxruntime
        ort_version = onnxruntime.__version__
    except ImportError:  # pragma: no cover
        ort_version = "?"
    fails = [report.results[n]["reason"] for n in report.names("fail")]
    return {
        "onnx": onnx.__version__,
        "onnxruntime": ort_version,
        "cases": total,
        "ort_failing": ort_failing,
        "counted": len(report.results),
        "passed": len(report.names("pass")),
        "expected_failures": len(fails),
        "by_reason": dict(sorted(collections.Counter(fails).items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update-expected", action="store_true",
                        help="rewrite expected_failures.txt and summary.json from this run")
    parser.add_argument("--measure-ort", action="store_true",
                        help="run every case through ONNX Runtime and rewrite ort_failing.txt")
    parser.add_argument("--only", action="append", metavar="PATTERN",
                        help="run only cases matching this glob (repeatable); lists are not written")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=harness.DEFAULT_TIMEOUT, help="seconds per case")
    parser.add_argument("--json", metavar="FILE", help="write every case's result here")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each case's outcome")
    args = parser.parse_args(argv)
    if args.only and args.update_expected:
        parser.error("--only cannot be combined with --update-expected: the list comes from a full run")

    started = time.perf_counter()
    everything = harness.all_cases()
    mode = "ort" if args.measure_ort else "mlprt"
    cases = everything if args.measure_ort else harness.counted_cases(everything)
    cases = select(cases, args.only)
    print(f"{len(cases)} cases ({mode}), {args.workers} workers; generating took "
          f"{time.perf_counter() - started:.1f} s", flush=True)

    def progress(name: str, result: Dict[str, object]) -> None:
        if args.verbose or result["outcome"] in harness.BAD_OUTCOMES:
            print(f"{result['outcome']:6} {result.get('seconds', 0):7.2f}s {name}  {result.get('reason', '')}", flush=True)

    report = harness.run_cases(cases, mode, workers=args.workers, timeout=args.timeout, progress=progress)
    if args.json:
        Path(args.json).write_text(json.dumps(report.results, indent=1, sort_keys=True))
    counts = collections.Counter(r["outcome"] for r in report.results.values())
    print(f"{dict(counts)} in {report.seconds:.1f} s (whole command {time.perf_counter() - started:.1f} s)")

    if args.measure_ort:
        bad = report.names("wrong", "crash", "hang")
        failing = {n: report.results[n].get("reason", report.results[n]["outcome"])
                   for n in report.names("fail", "wrong", "crash", "hang")}
        if not args.only:
            harness.write_list(harness.ORT_FAILING_FILE, ORT_HEADER, failing)
        print(f"ONNX Runtime passes {len(report.names('pass'))} of {len(cases)}; "
              f"{'printed' if args.only else 'wrote ' + str(harness.ORT_FAILING_FILE)} "
              f"({len(failing)} failing cases, {len(bad)} of them crashed/hung/mismatched)")
        if args.only:
            print("\n".join(f"{n}\t{r}" for n, r in sorted(failing.items())))
        return 0

    expected = harness.read_list(harness.EXPECTED_FILE)
    if not args.only:
        found = problems(report, expected, complete=True)
    else:
        found = problems(report, {n: r for n, r in expected.items() if n in report.results}, complete=False)
    if args.update_expected:
        bad = [line for line in found if line.split(" ")[0] in ("WRONG", "CRASH", "HANG")]
        if bad:
            print("refusing to write the expected-failure list: wrong answers, crashes and hangs are bugs to fix, "
                  "not expected failures:\n" + "\n".join(bad))
            return 1
        entries = {n: report.results[n]["reason"] for n in report.names("fail")}
        added = sorted(set(entries) - set(expected))
        if added:   # a regression (or a new case of a new onnx): visible in the list's diff too
            print(f"ADDED to the list ({len(added)}; a case that passed before is a regression):\n  " +
                  "\n  ".join(f"{n}\t{entries[n]}" for n in added))
        print(f"removed from the list: {len(set(expected) - set(entries))} case(s)")
        harness.write_list(harness.EXPECTED_FILE, EXPECTED_HEADER, entries)
        data = summary(report, len(everything), len(harness.read_list(harness.ORT_FAILING_FILE)))
        harness.SUMMARY_FILE.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {harness.EXPECTED_FILE} ({len(entries)} entries) and {harness.SUMMARY_FILE}: "
              f"{data['passed']} of {data['counted']} pass. Now regenerate docs/operators.md: "
              "python -m mlprt.onnx_parser --markdown > docs/operators.md")
        return 0
    print(f"mlprt passes {len(report.names('pass'))} of {len(report.results)} cases; "
          f"{len(report.names('fail'))} fail")
    if found:
        print(f"{len(found)} problem(s):\n" + "\n".join(found))
        return 1
    print("no problems: the run matches tests/conformance/expected_failures.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
