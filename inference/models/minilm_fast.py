"""The MiniLM encoder written out for GPU inference (the torch-cuda backend).

Same weights and the same function as `minilm.TextEncoder` (transformers' BertModel in eval
mode + masked mean pooling + L2 norm), arranged for speed:
  * query, key and value projections are one matrix product (N = 1152 instead of 3 x 384);
  * the padding mask goes to scaled_dot_product_attention as a boolean N x 1 x 1 x S
    broadcast, never expanded to N x 1 x S x S;
  * with no mask (every sequence of the batch fills the whole width, as the chunks of long
    page texts do) attention runs the flash kernel and pooling is a plain mean;
  * nothing inspects tensor values on the host, so a whole forward can be captured as one
    CUDA graph or compiled without graph breaks.
Parity with the transformers module is tested (tests/inference/test_fast_models.py).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .efficientnet import l2_normalize


class FusedLayer(nn.Module):
    def __init__(self, hidden: int, heads: int, intermediate: int, eps: float, act: str):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.ln1 = nn.LayerNorm(hidden, eps=eps)
        self.up = nn.Linear(hidden, intermediate)
        self.down = nn.Linear(intermediate, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=eps)
        if act not in ("gelu", "gelu_new", "gelu_pytorch_tanh"):
            raise ValueError(f"unsupported hidden_act {act!r}")
        self.approximate = "none" if act == "gelu" else "tanh"

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        n, s, h = x.shape
        qkv = self.qkv(x).view(n, s, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
        attn = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=mask)
        attn = attn.transpose(1, 2).reshape(n, s, h)
        x = self.ln1(self.out(attn) + x)
        return self.ln2(self.down(F.gelu(self.up(x), approximate=self.approximate)) + x)


class FusedTextEncoder(nn.Module):
    """(input_ids, attention_mask or None) int64 N x S -> N x 384 unit vectors (fp32)."""

    def __init__(self, config) -> None:
        super().__init__()
        h, eps = config.hidden_size, config.layer_norm_eps
        self.word = nn.Embedding(config.vocab_size, h)
        self.position = nn.Embedding(config.max_position_embeddings, h)
        self.token_type = nn.Parameter(torch.zeros(h))  # row 0: single-sentence inputs
        self.ln = nn.LayerNorm(h, eps=eps)
        self.layers = nn.ModuleList(
            FusedLayer(h, config.num_attention_heads, config.intermediate_size, eps, config.hidden_act)
            for _ in range(config.num_hidden_layers))

    @classmethod
    def from_encoder(cls, encoder: nn.Module) -> "FusedTextEncoder":
        """Copy the weights of a `minilm.TextEncoder` (any dtype/device) into the fused layout."""
        bert = encoder.bert
        cfg = bert.config
        if getattr(cfg, "position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported")
        sd = bert.state_dict()
        fused = cls(cfg).to(device=sd["embeddings.word_embeddings.weight"].device,
                            dtype=sd["embeddings.word_embeddings.weight"].dtype)
        with torch.no_grad():
            fused.word.weight.copy_(sd["embeddings.word_embeddings.weight"])
            fused.position.weight.copy_(sd["embeddings.position_embeddings.weight"])
            fused.token_type.copy_(sd["embeddings.token_type_embeddings.weight"][0])
            fused.ln.weight.copy_(sd["embeddings.LayerNorm.weight"])
            fused.ln.bias.copy_(sd["embeddings.LayerNorm.bias"])
            for i, layer in enumerate(fused.layers):
                p = f"encoder.layer.{i}."
                a = p + "attention.self."
                layer.qkv.weight.copy_(torch.cat([sd[a + k + ".weight"] for k in ("query", "key", "value")]))
                layer.qkv.bias.copy_(torch.cat([sd[a + k + ".bias"] for k in ("query", "key", "value")]))
                for dst, src in ((layer.out, "attention.output.dense"), (layer.ln1, "attention.output.LayerNorm"),
                                 (layer.up, "intermediate.dense"), (layer.down, "output.dense"),
                                 (layer.ln2, "output.LayerNorm")):
                    dst.weight.copy_(sd[p + src + ".weight"])
                    dst.bias.copy_(sd[p + src + ".bias"])
        return fused.eval()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        n, s = input_ids.shape
        x = self.word(input_ids) + self.position.weight[:s] + self.token_type
        x = self.ln(x)
        mask = None if attention_mask is None else attention_mask.bool()[:, None, None, :]
        for layer in self.layers:
            x = layer(x, mask)
        x = x.float()  # pool in fp32: sums over 256 tokens lose digits in fp16
        if attention_mask is None:
            return l2_normalize(x.mean(dim=1))
        m = attention_mask.unsqueeze(-1).to(x.dtype)
        return l2_normalize((x * m).sum(dim=1) / torch.clamp(m.sum(dim=1), min=1.0))
