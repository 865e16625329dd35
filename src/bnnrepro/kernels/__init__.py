"""Packed binary inference: bit packing, the xnor-popcount GEMM (torch and Triton), binary
convolution, backend dispatch and the kernel benchmark. Pure tensor operations on packed bits:
nothing here imports :mod:`bnnrepro.nn` (the layers call in through the inference interface below;
the packed model export lives in :mod:`bnnrepro.nn.export`).

Small composable pieces, larq-style:

* packing (:mod:`~bnnrepro.kernels.packing`): :func:`pack_bits` / :func:`unpack_bits` put 32
  +-1 values in an int32 word along the last axis (bit 1 = -1, zero padding of the last word);
* products: :func:`packed_gemm` (packed operands, any backend), :func:`xnor_gemm_torch` (plain torch,
  the oracle), ``xnor_gemm_triton`` / ``int8_gemm_triton`` / ``pack_bits_triton`` (Triton; imported
  on first access); :func:`xnor_linear` and :func:`xnor_conv2d` on +-1 float tensors, equal to
  ``F.linear`` / ``F.conv2d`` (zero padding included) exactly;
* the CPU kernel (:mod:`~bnnrepro.kernels.cpu`, numba, imported on first use): the packed product
  and the fused binary layer (integer thresholds in, packed signs out) in 64-bit words;
* dispatch (:mod:`~bnnrepro.kernels.dispatch`): :func:`set_backend`, :func:`use_backend`,
  :func:`get_backend`, :func:`resolve_backend` over ``"auto" | "torch" | "numba" | "triton" | "float"``
  (env var ``BNNREPRO_XNOR_BACKEND``);
* the inference interface of binary layers: :class:`PackedLinearWeight` /
  :class:`PackedConvWeight` (prepared +-1 weights), :func:`inference_backend`,
  :func:`packed_linear`, :func:`packed_conv2d`;
* benchmark (:mod:`~bnnrepro.kernels.bench`): times the products against ``torch.matmul``.

Importing this package does not import Triton. The Triton kernels are decorated on their first
use; to run them on CPU (the interpreter, for tests) set ``TRITON_INTERPRET=1`` before that.
"""

from typing import Any

from bnnrepro.kernels.conv import PackedConvWeight, im2col_words, padding_correction, xnor_conv2d_packed
from bnnrepro.kernels.dispatch import (
    BACKENDS,
    ENV_VAR,
    XNOR_MAX_BATCH,
    PackedLinearWeight,
    choose_triton_impl,
    conv_supported,
    cpu_prefers_packed,
    get_backend,
    inference_backend,
    packed_conv2d,
    packed_gemm,
    packed_linear,
    resolve_backend,
    set_backend,
    triton_usable,
    use_backend,
    xnor_conv2d,
    xnor_linear,
)
from bnnrepro.kernels.packing import (
    BITS,
    check_pm1,
    pack_bits,
    pack_conv_weight,
    pack_input_channels,
    packed_words,
    sign_pm1,
    unpack_bits,
)
from bnnrepro.kernels.reference import popcount32, xnor_gemm_torch

_TRITON_NAMES = ("xnor_gemm_triton", "xnor_sign_layer_triton", "pack_bits_triton", "int8_gemm_triton")


def __getattr__(name: str) -> Any:
    # The Triton wrappers are imported on first access so that TRITON_INTERPRET can still be set
    # after `import bnnrepro.kernels` (Triton reads it when the kernels are decorated).
    if name in _TRITON_NAMES:
        from bnnrepro.kernels import xnor_gemm as _triton_kernels

        return getattr(_triton_kernels, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The Triton wrappers (_TRITON_NAMES) are public too but left out of __all__, so that
# `from bnnrepro.kernels import *` does not decorate the kernels before TRITON_INTERPRET is set.
__all__ = [
    "BACKENDS",
    "BITS",
    "ENV_VAR",
    "XNOR_MAX_BATCH",
    "PackedConvWeight",
    "PackedLinearWeight",
    "check_pm1",
    "choose_triton_impl",
    "conv_supported",
    "cpu_prefers_packed",
    "get_backend",
    "im2col_words",
    "inference_backend",
    "pack_bits",
    "pack_conv_weight",
    "pack_input_channels",
    "packed_conv2d",
    "packed_gemm",
    "packed_linear",
    "packed_words",
    "padding_correction",
    "popcount32",
    "resolve_backend",
    "set_backend",
    "sign_pm1",
    "triton_usable",
    "unpack_bits",
    "use_backend",
    "xnor_conv2d",
    "xnor_conv2d_packed",
    "xnor_gemm_torch",
    "xnor_linear",
]
