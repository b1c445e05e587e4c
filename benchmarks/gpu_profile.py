"""Where a GPU generator call's time goes: host transfers, memory layout, launch overhead, kernels.

    python -m benchmarks.gpu_profile [--size 720x1280] [--json profile.json]

resnet9 ngf 64, batch 1. Model times exclude transfers (input already on the GPU) and are medians
of CUDA-event-timed calls; transfer times are for the fp32 frame the runtime sends, from pageable
and from pinned host memory. Then the kernels that take the time, from torch.profiler.
"""
from __future__ import annotations

import argparse
import json
import statistics

import torch

from cgan.nets import build_generator, count_macs, preset_config
from cgan.runtime.cuda_graphs import CudaGraphRunner


def cuda_ms(call, repeats: int = 30) -> float:
    for _ in range(3):
        call()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        call()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def profile_generator(h: int, w: int, log=print) -> dict:
    """Transfer times, the four precision x layout variants (eager and graph) and the two compiled ones (without
    and with a graph), and the top kernels of the fastest."""
    torch.backends.cudnn.benchmark = True
    net = build_generator(preset_config("resnet9")).cuda().eval()
    gflop = 2 * count_macs(net, h, w) / 1e9
    host = torch.rand(1, 3, h, w) * 2 - 1
    pinned = host.pin_memory()
    on_gpu = host.cuda()
    report = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "size": f"{h}x{w}", "gflop": gflop}
    report["upload_pageable_ms"] = cuda_ms(lambda: host.cuda())
    report["upload_pinned_ms"] = cuda_ms(lambda: pinned.cuda(non_blocking=True))
    report["download_ms"] = cuda_ms(lambda: on_gpu.cpu())
    variants = {}
    with torch.inference_mode():
        for dtype in (torch.float32, torch.float16):
            for layout in (torch.contiguous_format, torch.channels_last):
                model = build_generator(preset_config("resnet9")).cuda().to(dtype).to(memory_format=layout).eval()
                x = on_gpu.to(dtype).contiguous(memory_format=layout)
                name = f"{str(dtype).removeprefix('torch.')} {'NHWC' if layout == torch.channels_last else 'NCHW'}"
                eager = cuda_ms(lambda: model(x))
                graph = CudaGraphRunner(model)
                replay = cuda_ms(lambda: graph(x))
                variants[name] = {"eager_ms": eager, "graph_ms": replay, "tflops_graph": gflop / replay}
                log(f"{name:>14}: eager {eager:7.2f} ms, graph {replay:7.2f} ms, {gflop / replay:6.1f} TFLOP/s")
        for dtype in (torch.float32, torch.float16):  # --compile: inductor's fused kernels, NCHW as the runtime
            model = build_generator(preset_config("resnet9")).cuda().to(dtype).eval()
            compiled = torch.compile(model, dynamic=False, fullgraph=True)
            x = on_gpu.to(dtype)
            name = f"{str(dtype).removeprefix('torch.')} NCHW compiled"
            plain = cuda_ms(lambda: compiled(x))  # the first call compiles
            graph = CudaGraphRunner(compiled)
            replay = cuda_ms(lambda: graph(x))
            variants[name] = {"eager_ms": plain, "graph_ms": replay, "tflops_graph": gflop / replay}
            log(f"{name:>14}: plain {plain:7.2f} ms, graph {replay:7.2f} ms, {gflop / replay:6.1f} TFLOP/s")
        report["variants"] = variants
        best = min(variants, key=lambda k: variants[k]["graph_ms"])
        dtype = torch.float16 if best.startswith("float16") else torch.float32
        layout = torch.channels_last if "NHWC" in best else torch.contiguous_format
        model = build_generator(preset_config("resnet9")).cuda().to(dtype).to(memory_format=layout).eval()
        if best.endswith("compiled"):
            model = torch.compile(model, dynamic=False, fullgraph=True)  # inductor's cache makes this quick
        x = on_gpu.to(dtype).contiguous(memory_format=layout)
        for _ in range(3):
            model(x)
        torch.cuda.synchronize()
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            for _ in range(5):
                model(x)
            torch.cuda.synchronize()
    events = [e for e in prof.key_averages() if e.device_type == torch.autograd.DeviceType.CUDA]
    total = sum(e.self_device_time_total for e in events) or 1
    top = sorted(events, key=lambda e: e.self_device_time_total, reverse=True)[:12]
    report["profiled"] = best
    report["kernels"] = [{"name": e.key[:90], "share": e.self_device_time_total / total, "calls_per_image": e.count / 5}
                         for e in top]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="720x1280")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    report = profile_generator(h, w, log=lambda line: print(line, flush=True))
    print(f"upload pageable {report['upload_pageable_ms']:.2f} ms, pinned {report['upload_pinned_ms']:.2f} ms, "
          f"download {report['download_ms']:.2f} ms")
    print(f"kernels of {report['profiled']} ({args.size}), share of GPU time:")
    for k in report["kernels"]:
        print(f"  {100 * k['share']:5.1f}%  x{k['calls_per_image']:<4g} {k['name']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
