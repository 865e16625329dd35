"""Binary 2-d convolution as im2col + a packed GEMM, with the float model's zero padding reproduced.

The float model binarizes its input to +-1 and *then* zero-pads it, so a padded tap contributes
0 to a dot product. Packed bits can only say +1 or -1, so, as larq's compute engine does, the
packed input is padded with +1 (0 bits) and the surplus is removed afterwards: a padded tap adds
``w[o, c, dy, dx] * (+1)`` for every channel, so

    conv_zero_padded[n, o, y, x] = conv_one_padded[n, o, y, x] - correction[o, y, x]
    correction[o, y, x] = sum over taps (dy, dx) that fall in the padding at output (y, x) of
                          tap_sum[o, dy, dx],   tap_sum[o, dy, dx] = sum_c w[o, c, dy, dx]

``correction`` depends only on the weights and the geometry (input size, stride, padding), so it
is computed once and cached with the packed weights. All of it is integer arithmetic: exact.

Activations are packed once per pixel along the channels (``[N, H, W, ceil(C/32)]``) and im2col
gathers *words* (32 channels at a time), so the reduction order is (dy, dx, c) with each tap's
channels padded to whole words; weights are packed the same way
(:func:`bnnrepro.kernels.packing.pack_conv_weight`). Padding bits are 0 in both operands and
the product uses the true ``K = C * kh * kw``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F

from bnnrepro.kernels.packing import pack_conv_weight, pack_input_channels, unpack_bits

Pair = tuple[int, int]
#: A stride or padding as the layers give it: one int for both axes, or one per axis.
PairLike = int | Iterable[int]
#: ``gemm(a_packed [M, W], b_packed [N, W], k) -> int32 [M, N]``
PackedGemm = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]


def _pair(v: PairLike, name: str) -> Pair:
    if isinstance(v, int):
        return (v, v)
    pair = tuple(v)
    if len(pair) == 2 and all(isinstance(i, int) for i in pair):
        return pair[0], pair[1]
    raise ValueError(f"{name} must be an int or a pair of ints, not {pair!r}")


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a convolution along one axis (dilation 1)."""
    out = (size + 2 * padding - kernel) // stride + 1
    if out <= 0:
        raise ValueError(
            f"a {kernel}-tap kernel with stride {stride} and padding {padding} leaves no "
            f"output for an input of size {size}"
        )
    return out


def padding_mask(
    size: Pair, kernel: Pair, stride: Pair, padding: Pair, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Bool ``[kh, kw, Ho, Wo]``: True where tap (dy, dx) of output (y, x) reads a padded position."""
    axes = []
    for n, k, s, p in zip(size, kernel, stride, padding):
        out = conv_output_size(n, k, s, p)
        pos = (torch.arange(out, device=device) * s - p)[None, :] + torch.arange(k, device=device)[:, None]
        axes.append((pos < 0) | (pos >= n))  # [k, out]
    pad_y, pad_x = axes
    return pad_y[:, None, :, None] | pad_x[None, :, None, :]


def padding_correction(tap_sums: torch.Tensor, size: Pair, stride: Pair, padding: Pair) -> torch.Tensor:
    """int32 ``[O, Ho, Wo]``: what +1-padding adds over zero padding (see the module docstring).

    ``tap_sums``: ``[O, kh, kw]``, the +-1 weights summed over the input channels.
    """
    _, kh, kw = tap_sums.shape
    mask = padding_mask(size, (kh, kw), stride, padding, tap_sums.device)
    # float64 is exact here (|values| <= C * kh * kw) and has matmul kernels on every device.
    corr = torch.einsum("okl,klyx->oyx", tap_sums.to(torch.float64), mask.to(torch.float64))
    return corr.round().to(torch.int32)


def im2col_words(packed: torch.Tensor, kernel: Pair, stride: Pair, padding: Pair) -> torch.Tensor:
    """Word-level im2col: packed pixels ``[N, H, W, Wc]`` -> ``[N * Ho * Wo, kh * kw * Wc]``.

    Padding words are 0, i.e. +1 values (corrected by :func:`padding_correction`).
    """
    n, h, w, wc = packed.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    if ph or pw:
        packed = F.pad(packed, (0, 0, pw, pw, ph, ph))
    patches = packed.unfold(1, kh, sh).unfold(2, kw, sw)  # [N, Ho, Wo, Wc, kh, kw]
    return patches.permute(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, kh * kw * wc)


class PackedConvWeight:
    """A +-1 conv weight ``[O, C, kh, kw]`` prepared for :func:`xnor_conv2d_packed`.

    Holds the per-tap packed bits, the per-tap channel sums and a cache of padding corrections
    per (input size, stride, padding).
    """

    def __init__(self, weight: torch.Tensor):
        if weight.dim() != 4:
            raise ValueError(f"a conv weight has shape [out, in, kh, kw], not {tuple(weight.shape)}")
        self.out_channels, self.in_channels, kh, kw = weight.shape
        self.kernel_size: Pair = (kh, kw)
        self.k = self.in_channels * kh * kw
        self.bits = pack_conv_weight(weight)
        # sign convention of the packing: value < 0 is -1, anything else +1
        self.tap_sums = torch.where(weight < 0, -1, 1).sum(1, dtype=torch.int32)
        self._corrections: dict[tuple, torch.Tensor] = {}
        self._int8: torch.Tensor | None = None

    def int8_matrix(self) -> torch.Tensor:
        """The +-1 weight as int8 ``[O, C * kh * kw]`` (column order c, dy, dx), for the int8 GEMM.

        Unpacked from the bits on first use and kept.
        """
        if self._int8 is None:
            kh, kw = self.kernel_size
            c = self.in_channels
            taps = unpack_bits(self.bits.view(self.out_channels, kh * kw, -1), c, torch.int8)
            self._int8 = taps.view(self.out_channels, kh, kw, c).permute(0, 3, 1, 2).reshape(self.out_channels, -1)
        return self._int8

    def correction(self, size: Pair, stride: Pair, padding: Pair) -> torch.Tensor | None:
        """int32 ``[O, Ho, Wo]`` correction for zero padding, or None without padding."""
        if not any(padding):
            return None
        key = (tuple(size), tuple(stride), tuple(padding))
        if key not in self._corrections:
            self._corrections[key] = padding_correction(self.tap_sums, size, stride, padding)
        return self._corrections[key]


def xnor_conv2d_packed(
    x: torch.Tensor, weight: PackedConvWeight, gemm: PackedGemm, stride: PairLike = 1, padding: PairLike = 0
) -> torch.Tensor:
    """Exact ``F.conv2d(x, w, stride=stride, padding=padding)`` for +-1 ``x`` ``[N, C, H, W]``, as int32.

    ``x`` is packed by sign (value < 0 -> -1, else +1); zero padding is reproduced exactly.
    ``gemm`` is the packed product (e.g. :func:`bnnrepro.kernels.reference.xnor_gemm_torch`).
    Returns a contiguous int32 ``[N, O, Ho, Wo]``.
    """
    stride, padding = _pair(stride, "stride"), _pair(padding, "padding")
    if x.dim() != 4 or x.shape[1] != weight.in_channels:
        raise ValueError(f"conv input must be [batch, {weight.in_channels}, height, width], not {tuple(x.shape)}")
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"stride must be >= 1 and padding >= 0, not stride={stride}, padding={padding}")
    n, _, h, w = x.shape
    (kh, kw) = weight.kernel_size
    ho, wo = conv_output_size(h, kh, stride[0], padding[0]), conv_output_size(w, kw, stride[1], padding[1])
    cols = im2col_words(pack_input_channels(x), weight.kernel_size, stride, padding)
    out = gemm(cols, weight.bits, weight.k).view(n, ho, wo, weight.out_channels).permute(0, 3, 1, 2)
    corr = weight.correction((h, w), stride, padding)
    if corr is not None:
        out = out - corr
    return out.contiguous()


def int8_im2col(x: torch.Tensor, kernel: Pair, stride: Pair, padding: Pair) -> torch.Tensor:
    """im2col of an int8 (+-1) NCHW input with true zero padding: ``[N * Ho * Wo, C * kh * kw]``.

    The column order (c, dy, dx) matches ``weight.reshape(O, -1)``; int8 can hold the 0 of the
    padding, so no correction is needed on this path.
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    if ph or pw:
        x = F.pad(x, (pw, pw, ph, ph))
    patches = x.unfold(2, kh, sh).unfold(3, kw, sw)  # [N, C, Ho, Wo, kh, kw]
    return patches.permute(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)


__all__ = [
    "PackedConvWeight",
    "conv_output_size",
    "im2col_words",
    "int8_im2col",
    "padding_correction",
    "padding_mask",
    "xnor_conv2d_packed",
]
