"""What only each exported format has, for ``cgan info``: an ONNX graph's inputs, outputs, weights and
multiply-adds; an OpenVINO IR's and an ncnn pair's checks and files; a TensorRT engine's profile and the reasons
it may not run here."""
from __future__ import annotations

from pathlib import Path

from ..images import smallest_side
from ..shapes import round_up


def nearest_side(multiple: int, size: int) -> int:
    """The side nearest ``size`` that a network of this size multiple takes."""
    return max(round_up(size, multiple), smallest_side(multiple))


def onnx_weights(model) -> int:
    """Values of the graph's weight initializers (float, or int8 in a quantised graph): its weights, and fixed
    kernels such as the edge map's."""
    import onnx

    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16, onnx.TensorProto.INT8,
              onnx.TensorProto.UINT8)
    total = 0
    for tensor in model.graph.initializer:
        count = 1
        for d in tensor.dims:
            count *= d
        if tensor.data_type in floats and count > 1:  # (single constants such as 127.5 are not weights)
            total += count
    return total


def onnx_macs(path: Path, model, multiple: int, height: int, width: int) -> int:
    """Multiply-adds of the graph's convolutions for one ``height`` x ``width`` image (scaled from the nearest
    size it takes, or from its fixed batch and size), from the shapes ONNX infers: each output value of a Conv
    sums in/groups x kernel products; each input value of a ConvTranspose meets out/groups x kernel weights,
    as ``nets.count_macs`` counts them. Needs no PyTorch."""
    from ..runtime.graph_check import inferred_shapes, probe_shape

    side = nearest_side(multiple, max(height, width))
    n, _, h, w = probe_shape(model, multiple, side)  # a fixed-size export at its own size
    shapes = inferred_shapes(path.name, model, (n, 3, h, w))
    shapes.update({t.name: list(t.dims) for t in model.graph.initializer})
    total = 0
    for node in model.graph.node:
        if node.op_type not in ("Conv", "ConvTranspose"):
            continue
        counted = node.output[0] if node.op_type == "Conv" else node.input[0]
        values, weight = shapes.get(counted), shapes.get(node.input[1])
        if values and weight and all(d is not None for d in [*values, *weight]):
            per_value = 1
            for d in weight[1:]:
                per_value *= d
            elements = 1
            for d in values:
                elements *= d
            total += elements * per_value
    return round(total * height * width / (n * h * w))


def onnx_details(path: Path, model, export: dict, multiple: int) -> tuple[str, dict[str, str]]:
    """The format's name and what only an ONNX graph has: inputs, outputs, weight types, the graph check."""
    import onnx

    from ..runtime.graph_check import check_graph

    graph = check_graph(path, model, multiple)  # a graph the runtime would refuse is not described as a model

    def dims(value) -> str:
        """NCHW with fixed sizes as numbers and free ones by axis name (the exporter's own names are expressions)."""
        shape = value.type.tensor_type.shape.dim
        names = "NCHW" if len(shape) == 4 else [f"d{i}" for i in range(len(shape))]
        text = "x".join(str(d.dim_value) if d.dim_value else names[i] for i, d in enumerate(shape))
        free_sides = any(not d.dim_value for d in shape[2:])
        return text + (f" (any H, W that are multiples of {multiple})" if free_sides else "")

    types = {onnx.TensorProto.FLOAT: "fp32", onnx.TensorProto.FLOAT16: "fp16", onnx.TensorProto.BFLOAT16: "bf16"}
    weights = [types.get(t.data_type, onnx.TensorProto.DataType.Name(t.data_type)) for t in model.graph.initializer]
    counts = ", ".join(f"{weights.count(t)} {t}" for t in sorted(set(weights)))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    return f"ONNX, opset {opset}, exported {export.get('precision', '?')}", {
        "inputs": ", ".join(f"{i.name} {dims(i)}" for i in model.graph.input),
        "outputs": ", ".join(f"{o.name} {dims(o)}" for o in model.graph.output),
        "precision": f"{export.get('precision', '?')} (initializers: {counts})",
        "graph_check": f"passed (largest tensor {graph.elements_per_input:.1f} values per input value at "
                       f"{'x'.join(map(str, graph.probe))})",
    }


def ir_details(path: Path, export: dict, multiple: int, size: int) -> tuple[str, dict[str, str], int, int | None]:
    """An OpenVINO IR's format, details, weights and multiply-adds at ``size``: the text check and the weights
    without OpenVINO; the graph check and the multiply-adds with it (None where it is not installed)."""
    from ..ir_file import bin_path, read_ir
    from ..runtime.openvino_backend import openvino_available

    ir = read_ir(path)
    weights = bin_path(path)
    details = {"weights_file": f"{weights.name} ({weights.stat().st_size / 1e6:.2f} MB)",
               "precision": f"{export.get('precision', '?')} (made by OpenVINO {export.get('openvino', '?')})"}
    macs = None
    if openvino_available():
        import openvino as ov

        from ..runtime.graph_check import check_openvino_graph

        graph = ov.Core().read_model(str(path))
        report = check_openvino_graph(ov, graph, path.name, multiple)
        details["graph_check"] = (f"passed (largest tensor {report.elements_per_input:.1f} values per input value "
                                  f"at {'x'.join(map(str, report.probe))})")
        macs = ir_macs(ov, graph, nearest_side(multiple, size), size)
    else:
        details["graph_check"] = 'text check passed; the graph check needs OpenVINO: pip install "cgan[openvino]"'
    return f"OpenVINO IR, exported {export.get('precision', '?')}", details, ir.weight_values, macs


def ncnn_details(path: Path, export: dict) -> tuple[str, dict[str, str]]:
    from ..ncnn_file import ncnn_files, read_ncnn_param

    checked = read_ncnn_param(path)
    _, weights, sidecar = ncnn_files(path)
    size = f"{weights.stat().st_size / 1e6:.2f} MB" if weights.is_file() else "missing: copy it beside the .param"
    return f"ncnn, exported {export.get('precision', '?')} (pnnx {export.get('pnnx', '?')})", {
        "weights_file": f"{weights.name} ({size})", "metadata": sidecar.name,
        "param_check": f"passed ({len(checked.layer_types)} layer types, input {checked.input_name}, output "
                       f"{checked.output_name})"}


def tflite_details(path: Path, export: dict) -> tuple[str, dict[str, str], int]:
    from ..tflite_file import read_tflite

    checked = read_tflite(path)
    h, w = checked.size
    return f"LiteRT (TFLite), exported {export.get('precision', '?')} (litert-torch {export.get('litert_torch', '?')})", {
        "inputs": f"input 1x3x{h}x{w} (fixed: frames of other sizes are fitted into it)",
        "arithmetic": tflite_arithmetic(checked.fp16_arithmetic, export),
        "file_check": f"passed ({len(checked.ops)} operator types)"}, checked.weight_values


def tflite_arithmetic(fp16_allowed: bool, export: dict) -> str:
    """The arithmetic XNNPACK computes a LiteRT file in: what the file's own metadata allows (and the export found)."""
    found = export.get("fp16_arithmetic") or {}
    if fp16_allowed:
        emulated = f" (XNNPACK's emulation at export: {found['psnr_db']:.1f} dB)" if found.get("psnr_db") else ""
        return f"fp16 on CPUs with FP16 arithmetic (ARM phones and boards){emulated}, fp32 elsewhere"
    if export.get("precision") == "fp16":
        return f"fp32 (fp16 weights; fp16 arithmetic not allowed: {found.get('why') or 'not checked at export'})"
    return "fp32" if export.get("precision") != "int8" else "int8 convolutions, the rest fp32"


def coreml_details(path: Path, export: dict) -> tuple[str, dict[str, str]]:
    from ..coreml_file import coreml_input_shape

    return f"Core ML ML program, exported {export.get('precision', '?')} (coremltools {export.get('coremltools', '?')})", {
        "inputs": f"input {coreml_input_shape(path)}", "spec_check": "passed",
        "runs": "on Apple systems only (Core ML): not on this machine"}


def ir_macs(ov, graph, side: int, size: int) -> int:
    """Multiply-adds of an IR's convolutions at ``side`` x ``side``, scaled to ``size`` (as ``onnx_macs``)."""
    probed = graph.clone()
    probed.reshape({probed.inputs[0].any_name: ov.PartialShape([1, 3, side, side])})
    total = 0
    for op in probed.get_ops():
        kind = op.get_type_name()
        if kind not in ("Convolution", "GroupConvolution", "ConvolutionBackpropData", "GroupConvolutionBackpropData"):
            continue
        weight = list(op.input(1).get_partial_shape().to_shape())
        backward = kind.endswith("BackpropData")
        counted = op.input(0) if backward else op.output(0)  # (as nets.count_macs counts a transposed conv)
        values = 1
        for d in counted.get_partial_shape().to_shape():
            values *= d
        # Weights are [out, in, k, k] (a group's: [groups, out, in, k, k]); a transposed one's [in, out, k, k].
        # Either way the second (a group's third) dimension is what each counted value meets.
        channels = weight[2] if kind.startswith("Group") else weight[1]
        total += values * channels * weight[-2] * weight[-1]
    return round(total * (size / side) ** 2)


def engine_details(trt_info: dict) -> tuple[str, dict[str, str]]:
    # A sidecar is a file a user may have edited: sections of the wrong type read as missing.
    profile, gpu = (trt_info.get(key) if isinstance(trt_info.get(key), dict) else {} for key in ("profile", "gpu"))
    return f"TensorRT engine, {trt_info.get('precision', '?')}", {
        "tensorrt": trt_info.get("version", "?"),
        "built_for_gpu": f"{gpu.get('name', '?')} (compute capability {gpu.get('compute_capability', '?')})",
        "profile": " / ".join("x".join(map(str, profile.get(k, []))) for k in ("min", "opt", "max")) + " (min / opt / max)",
    }


def engine_mismatches(trt_info: dict) -> list[str]:
    """Why this engine may not run here: another TensorRT version or another GPU."""
    warnings = []
    try:
        import tensorrt

        if tensorrt.__version__ != trt_info.get("version"):
            warnings.append(f"built with TensorRT {trt_info.get('version')}, this machine has {tensorrt.__version__}: "
                            f"rebuild it with cgan export --trt")
    except ImportError:
        warnings.append("TensorRT is not installed here, so this engine cannot run on this machine")
    import torch

    if torch.cuda.is_available():
        here = torch.cuda.get_device_name(0)
        built = trt_info.get("gpu", {}).get("name")
        if here != built:
            warnings.append(f"built for {built}, this machine has {here}: rebuild it here with cgan export --trt")
    else:
        warnings.append("no CUDA GPU here, so this engine cannot run on this machine")
    return warnings
