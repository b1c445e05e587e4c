import pytest
import torch

from cgan.errors import CganError
from cgan.precision import HALF, PRECISIONS, check_precision, precision_from_flags, resolve_precision


def test_one_vocabulary():
    assert PRECISIONS == ("fp32", "fp16", "bf16", "int8")


def test_short_flags_become_precisions_in_one_place():
    assert precision_from_flags(None) is None
    assert precision_from_flags("bf16") == "bf16"
    assert precision_from_flags(None, half=True) == HALF
    assert precision_from_flags(None, fp16=True) == "fp16"
    assert precision_from_flags("fp16", fp16=True) == "fp16"
    assert precision_from_flags("bf16", half=True) == "bf16"  # --half with a reduced precision: that one


@pytest.mark.parametrize("precision, flags, flag", [("fp32", {"half": True}, "--half"),
                                                    ("int8", {"half": True}, "--half"),
                                                    ("bf16", {"fp16": True}, "--fp16")])
def test_a_short_flag_that_contradicts_precision_is_refused(precision, flags, flag):
    with pytest.raises(CganError, match=f"{flag} contradicts --precision {precision}"):
        precision_from_flags(precision, **flags)


def test_half_resolves_by_device():
    from cgan.devices import cpu_has_fast_bf16

    assert resolve_precision(None, torch.device("cpu")) == "fp32"
    assert resolve_precision(HALF, torch.device("cuda", 0)) == "fp16"
    assert resolve_precision(HALF, torch.device("cpu")) == ("bf16" if cpu_has_fast_bf16() else "fp32")
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"


def test_an_instruction_set_ceiling_below_bf16_is_a_cpu_without_it(monkeypatch):
    """ONEDNN_MAX_CPU_ISA is how a CPU without bf16 is measured on one with it: cgan answers as that CPU would, so
    --half and the benchmarks choose its paths."""
    from cgan.devices import cpu_has_fast_bf16

    native = cpu_has_fast_bf16()
    for ceiling in ("AVX2", "avx512_core_vnni"):
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", ceiling)
        assert not cpu_has_fast_bf16()
        assert resolve_precision(HALF, torch.device("cpu")) == "fp32"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")
    assert cpu_has_fast_bf16() == native


def test_a_consumer_names_what_it_supports():
    assert check_precision("fp16", ("fp32", "fp16"), "ONNX export") == "fp16"
    with pytest.raises(CganError, match="ONNX export does not run in int8: choose one of fp32, fp16"):
        check_precision("int8", ("fp32", "fp16"), "ONNX export")
    with pytest.raises(CganError, match="the precisions are fp32, fp16, bf16, int8"):
        check_precision("fp8", ("fp32",), "this step")
