"""What the runtime's guards against hostile model files cost, beside the unguarded calls, in one run.

    python -m benchmarks.safety_cost --json benchmarks/results/safety_cost.json

- The graph check (cgan/runtime/graph_check.py: read the ONNX file, infer every shape at the probe), once per
  model load, for the filter, student-tiny, student and resnet9 (ngf 64).
- Per call, at 640x480 batch 1: ONNX Runtime's ``session.run`` against the bounded call (a worker thread that a
  deadline or a signal can end); OpenVINO's blocking ``infer`` on the uint8 graph without the finiteness output
  against the bounded asynchronous call on the graph with it (what ``cgan translate`` runs). Medians of many
  calls, the two paths alternated in rounds so that drifts of the machine touch both alike.
"""
from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

from .bench_models import paper_generator, student_generator

from cgan.bench.inference import time_runs
from cgan.bench.machine import describe_machine
from cgan.export import ExportOptions, export_onnx
from cgan.fileio import atomic_write_text
from cgan.modelfile import read_exported_meta
from cgan.runtime.bounded import Budget, Worker, run_onnxruntime, wait_openvino
from cgan.runtime.graph_check import check_graph

MODELS = ("filter", "student-tiny", "student", "resnet9")


def build(folder: Path, preset: str) -> Path:
    model = paper_generator(folder) if preset == "resnet9" else student_generator(folder, preset)
    return export_onnx(model, folder / f"{preset}.onnx", ExportOptions(verify=False))[0]


def graph_check_seconds(path: Path) -> float:
    """Median seconds of reading the file and checking its graph, as each model load does."""
    meta = read_exported_meta(path)[0]

    def check() -> None:
        check_graph(path, onnx.load(str(path), load_external_data=False), meta.size_multiple)

    return statistics.median(time_runs(check, min_repeats=5, min_seconds=1.0))


def alternate(first, second, rounds: int, calls: int) -> tuple[float, float]:
    """Median ms per call of ``first`` and ``second``, measured in alternating rounds of ``calls`` calls."""
    times: tuple[list[float], list[float]] = ([], [])
    for run in (first, second):
        run()
        run()
    for _ in range(rounds):
        for run, kept in zip((first, second), times):
            for _ in range(calls):
                started = time.perf_counter()
                run()
                kept.append(time.perf_counter() - started)
    return 1000 * statistics.median(times[0]), 1000 * statistics.median(times[1])


def onnxruntime_calls(path: Path, frame: np.ndarray, rounds: int, calls: int) -> dict:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {session.get_inputs()[0].name: frame}
    budget, worker = Budget(path.name), Worker()
    plain, bounded = alternate(lambda: session.run(None, feeds),
                               lambda: run_onnxruntime(session, feeds, budget, frame.size, worker), rounds, calls)
    return {"plain_ms": plain, "guarded_ms": bounded}


def openvino_calls(path: Path, image: np.ndarray, rounds: int, calls: int) -> dict:
    import openvino as ov

    from cgan.runtime.openvino_backend import uint8_frames

    core = ov.Core()
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    flagged = uint8_frames(ov, core.read_model(str(path)))
    unflagged = ov.Model(flagged.get_results()[:1], flagged.get_parameters(), "without the finiteness output")
    plain_request = core.compile_model(unflagged, "CPU", config).create_infer_request()
    guarded_request = core.compile_model(flagged, "CPU", config).create_infer_request()
    budget = Budget(path.name)

    def guarded() -> None:
        guarded_request.start_async({0: image})
        wait_openvino(guarded_request, budget, image.size)

    plain, bounded = alternate(lambda: plain_request.infer({0: image}), guarded, rounds, calls)
    return {"plain_ms": plain, "guarded_ms": bounded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=20, help="calls per round and path")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    frame = rng.uniform(-1, 1, (1, 3, 480, 640)).astype(np.float32)
    image = rng.integers(0, 256, (1, 480, 640, 3), dtype=np.uint8)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for preset in MODELS:
            path = build(Path(tmp), preset)
            row = {"model": preset, "file_mb": round(path.stat().st_size / 1e6, 2),
                   "graph_check_ms": 1000 * graph_check_seconds(path)}
            if preset != "resnet9":  # per-call costs matter where calls are short
                row["onnxruntime"] = onnxruntime_calls(path, frame, args.rounds, args.calls)
                row["openvino"] = openvino_calls(path, image, args.rounds, args.calls)
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {"command": "python -m benchmarks.safety_cost " + " ".join(sys.argv[1:]),
              "measured": datetime.date.today().isoformat(), "machine": describe_machine(), "size": "640x480",
              "rows": rows}
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
