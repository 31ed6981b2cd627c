"""Depthwise convolutions as sums of shifted taps, for compiled GPU inference.

`TapDepthwise` computes exactly what a depthwise `SameConv` computes (same TF 'SAME'
padding), written as k*k strided slices times per-channel weights. Eager PyTorch would run
that as dozens of kernels; under torch.compile the whole sum, the bias, the ReLU6 after it
and the padding fuse into one generated kernel that reads its input once from device memory
(the taps hit the cache) and writes its output once, instead of a library depthwise kernel
followed by separate bias/activation/padding passes. On an H100 the generated tap kernels
were slower than cuDNN's depthwise kernels (bench/RESULTS.md), so this form is opt-in.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .efficientnet import SameConv


class TapDepthwise(nn.Module):
    def __init__(self, conv: SameConv):
        super().__init__()
        if conv.groups != conv.in_channels or conv.in_channels != conv.out_channels:
            raise ValueError("TapDepthwise replaces depthwise convolutions only")
        self.kernel = conv.kernel_size[0]
        self.stride = conv.stride[0]
        if conv.tf_pad is not None:
            lo, hi = conv.tf_pad
        else:
            lo = hi = conv.padding[0]
        self.pad = (lo, hi, lo, hi)
        self.weight = conv.weight  # C x 1 x k x k, shared with the conv (folded BN included)
        self.bias = conv.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel, self.stride
        x = F.pad(x, self.pad)
        c, hp, wp = x.shape[1], x.shape[2], x.shape[3]
        ho, wo = (hp - k) // s + 1, (wp - k) // s + 1
        w = self.weight.reshape(1, c, k * k, 1)
        out = None
        for ky in range(k):
            for kx in range(k):
                tap = x[:, :, ky:ky + s * (ho - 1) + 1:s, kx:kx + s * (wo - 1) + 1:s]
                term = tap * w[:, :, ky * k + kx].unsqueeze(-1)
                out = term if out is None else out + term
        if self.bias is not None:
            out = out + self.bias.reshape(1, c, 1, 1)
        return out


def use_tap_depthwise(model: nn.Module) -> nn.Module:
    """Swap every depthwise convolution of an EfficientNet for its tap form (in place)."""
    for module in model.modules():
        conv = getattr(module, "_depthwise_conv", None)
        if isinstance(conv, SameConv):
            module._depthwise_conv = TapDepthwise(conv)
    return model
