"""Build a TensorRT engine from the exported ONNX, verify it, and write its ``.json`` sidecar.

Written against the TensorRT 10.x/11.x Python API: explicit shapes, one optimisation profile,
strong typing (TensorRT 11 removed BuilderFlag.FP16, so an fp16 engine comes from an fp16 ONNX
graph whose instance norms stay fp32), tensor-address execution. An engine has no metadata of
its own and runs only on the TensorRT version and GPU it was built for; the sidecar records both.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import time
from pathlib import Path
from typing import Callable

import torch

from ..errors import CganError
from ..fileio import atomic_path, atomic_write_bytes, atomic_write_text, refuse_overwrite
from ..modelfile import load_model, read_exported_meta, resolve_model_path
from ..tensorrt_engine import TensorRTEngine, import_tensorrt, require_cuda
from ..shapes import parse_shape, round_up
from .onnx import write_onnx
from .options import DEFAULT_MAX, DEFAULT_MIN, DEFAULT_OPT, EngineOptions, ExportOptions, export_options
from .verify import ExportReport, ShapeCheck, compare_with_pytorch, require_within

TOLERANCE = {"fp32": 5e-3, "fp16": 3e-2}  # TensorRT picks its own kernels (TF32 included): a little looser than ORT


@dataclasses.dataclass
class Profile:
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    @classmethod
    def parse(cls, low: str | None, opt: str | None, high: str | None, multiple: int) -> "Profile":
        def pick(text, default):
            shape = parse_shape(text, 4) if text else _round_up(default, multiple)
            if shape[2] % multiple or shape[3] % multiple:
                raise CganError(f"profile shape {'x'.join(map(str, shape))}: height and width must be multiples "
                                f"of {multiple} for this generator")
            return shape

        profile = cls(pick(low, DEFAULT_MIN), pick(opt, DEFAULT_OPT), pick(high, DEFAULT_MAX))
        if not all(a <= b <= c for a, b, c in zip(profile.min, profile.opt, profile.max)):
            raise CganError("the profile needs --min <= --opt <= --max in every dimension")
        return profile

    def check_shapes(self) -> list[tuple[int, ...]]:
        """Shapes inside the profile for verification: its two small corners and a non-square mix."""
        batch = max(self.min[0], min(2, self.max[0]))
        mixed = (batch, 3, self.min[2], self.opt[3])
        return list(dict.fromkeys([self.min, self.opt, mixed]))


def _round_up(shape: tuple[int, ...], multiple: int) -> tuple[int, ...]:
    return (shape[0], shape[1], round_up(shape[2], multiple), round_up(shape[3], multiple))


def _build_plan(trt, onnx_path: Path, profile: Profile, workspace_gb: float, timing_cache: Path | None,
                precision: str) -> tuple[bytes, bytes | None]:
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    strong = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if strong is not None:  # explicit on 10.x; always on (and the flag ignored) on 11.x
        flags |= 1 << int(strong)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise CganError(f"TensorRT could not parse {onnx_path.name}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if precision == "fp16" and strong is None and hasattr(trt.BuilderFlag, "FP16"):
        config.set_flag(trt.BuilderFlag.FP16)  # TensorRT before strong typing: precision is a builder flag
    trt_profile = builder.create_optimization_profile()
    trt_profile.set_shape(network.get_input(0).name, profile.min, profile.opt, profile.max)
    config.add_optimization_profile(trt_profile)
    cache = None
    if timing_cache is not None:
        cache = config.create_timing_cache(timing_cache.read_bytes() if timing_cache.is_file() else b"")
        config.set_timing_cache(cache, False)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise CganError("TensorRT failed to build the engine (its log above says why): try a larger --workspace "
                        "or a smaller --max")
    return bytes(plan), bytes(cache.serialize()) if cache is not None else None


def _write_sidecar(sidecar: Path, onnx_path: Path, version: str, precision: str, profile: Profile,
                   workspace_gb: float) -> None:
    """The engine's ``.json``: the ONNX file's cgan metadata plus how, where and for what the engine was built."""
    _, metadata = read_exported_meta(onnx_path)
    metadata["tensorrt"] = {
        "version": version, "gpu": _gpu_description(), "precision": precision,
        "profile": {"input": "input", "min": profile.min, "opt": profile.opt, "max": profile.max},
        "onnx": onnx_path.name, "workspace_gb": workspace_gb,
        "built": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write_text(sidecar, json.dumps(metadata, indent=2))


def _gpu_description(device: int = 0) -> dict:
    props = torch.cuda.get_device_properties(device)
    return {"name": props.name, "compute_capability": f"{props.major}.{props.minor}",
            "memory_gb": round(props.total_memory / 2**30, 1)}


def build_engine(model: str | os.PathLike, out: str | os.PathLike | None = None,
                 options: ExportOptions | None = None, engine: EngineOptions | None = None, *,
                 on_check: Callable[[ShapeCheck], None] | None = None,
                 on_stage: Callable[[str, int, int], None] | None = None, **fields) -> tuple[Path, ExportReport]:
    """Export ``model`` to ONNX beside ``out``, build the TensorRT engine and its sidecar, verify it (``on_check``
    and ``on_stage`` hear the ONNX export's progress, as in ``export_onnx``).

    ``options`` is the ONNX export's (``ExportOptions``, or its fields by name: ``precision="fp16"``); an fp16
    engine comes from the fp16 ONNX. ``engine`` sets the profile, workspace and timing cache. Without TensorRT
    or a CUDA GPU this raises a CganError before writing anything.
    """
    options = export_options(options, **fields)
    engine = engine or EngineOptions()
    if options.precision == "int8":
        raise CganError("TensorRT engines are built in fp32 or fp16 here: int8 runs from the quantised ONNX "
                        "(cgan export --precision int8) in OpenVINO or ONNX Runtime")
    if options.batch is not None or options.size is not None:
        raise CganError("an engine takes its shapes from its profile (--min/--opt/--max), not --batch or --size: "
                        "leave those out with --trt")
    trt = import_tensorrt()
    require_cuda()
    started = time.perf_counter()
    precision = options.precision
    model_path = resolve_model_path(model, options.direction)
    out = Path(out) if out else model_path.with_suffix(".engine" if precision == "fp32" else f".{precision}.engine")
    if out.suffix not in (".engine", ".plan"):
        raise CganError(f"engine output {out} must end in .engine or .plan")
    sidecar, onnx_out = out.with_suffix(".json"), out.with_suffix(".onnx")
    for path in (out, sidecar, onnx_out):
        refuse_overwrite(path, options.overwrite)
    net = load_model(model_path, options.direction)
    profile = Profile.parse(engine.min_shape, engine.opt_shape, engine.max_shape, net.size_multiple)
    onnx_path, onnx_report = write_onnx(net, model_path, onnx_out, options, on_check, on_stage)
    timing_cache = Path(engine.timing_cache) if engine.timing_cache else None
    try:
        plan, cache = _build_plan(trt, onnx_path, profile, engine.workspace_gb, timing_cache, precision)
        with atomic_path(out) as tmp:
            tmp.write_bytes(plan)
            runner = TensorRTEngine(plan)
            checks = compare_with_pytorch(lambda x: runner.run(x).float().cpu().numpy(), net, profile.check_shapes(),
                                          on_check=on_check) if options.verify else []
            require_within(checks, TOLERANCE[precision], precision, "the engine")
        _write_sidecar(sidecar, onnx_path, trt.__version__, precision, profile, engine.workspace_gb)
        if cache is not None:
            atomic_write_bytes(timing_cache, cache)
    except BaseException:
        onnx_path.unlink(missing_ok=True)  # all or nothing: no ONNX without its engine
        raise
    report = ExportReport(out, precision, onnx_report.opset, TOLERANCE[precision], checks,
                          time.perf_counter() - started)
    return out, report
