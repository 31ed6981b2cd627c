"""Text validation, tokenisation and chunking for the MiniLM encoder.

Long page text is split into chunks of at most 254 word pieces (+ [CLS]/[SEP] = 256, the
model's training length); the text's embedding is the token-count-weighted mean of its
chunk embeddings, re-normalised. Only the first `max_chunks` chunks are used (logged).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .config import MAX_SEQ_LEN, Limits
from .errors import InvalidText

log = logging.getLogger(__name__)

# Control characters other than tab, newline and carriage return (found with one C-speed regex).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class Chunk:
    text_index: int
    ids: list[int]


def validate_text(text: object, index: int, limits: Limits) -> str:
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidText(f"text #{index}: bytes are not UTF-8 ({exc.reason} at {exc.start})") from exc
    if not isinstance(text, str):
        raise InvalidText(f"text #{index}: expected str, got {type(text).__name__}")
    if len(text) > limits.max_text_chars:
        raise InvalidText(f"text #{index}: {len(text)} characters exceeds the limit of {limits.max_text_chars}")
    if not text.strip():
        raise InvalidText(f"text #{index}: empty or whitespace-only text")
    sample = text[:4096]
    controls = len(_CONTROL.findall(sample))
    # NULs or many control characters mean binary data decoded as text, not prose.
    if "\x00" in sample or controls > len(sample) // 20:
        raise InvalidText(f"text #{index}: looks like binary data ({controls} control characters in the first {len(sample)})")
    return text


class TextTokenizer:
    """Wraps `tokenizers` with the bundled tokenizer.json; no truncation, no padding."""

    def __init__(self, path: Path, max_len: int = MAX_SEQ_LEN):
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(path))
        self.tok.no_truncation()
        self.tok.no_padding()
        self.cls_id = self.tok.token_to_id("[CLS]")
        self.sep_id = self.tok.token_to_id("[SEP]")
        self.pad_id = self.tok.token_to_id("[PAD]") or 0
        self.body = max_len - 2

    def chunks(self, texts: list[str], max_chunks: int) -> list[Chunk]:
        # The fast variant skips character offsets, which chunking never reads (a third less time).
        encode = getattr(self.tok, "encode_batch_fast", self.tok.encode_batch)
        encodings = encode(texts, add_special_tokens=False)
        out: list[Chunk] = []
        for i, enc in enumerate(encodings):
            ids = enc.ids or []
            pieces = [ids[s:s + self.body] for s in range(0, max(len(ids), 1), self.body)][:max_chunks]
            if len(ids) > max_chunks * self.body:
                log.info("text #%d: %d tokens, embedding the first %d", i, len(ids), max_chunks * self.body)
            out.extend(Chunk(i, [self.cls_id, *p, self.sep_id]) for p in pieces)
        return out


def pad_batch(chunks: list[Chunk], pad_id: int, multiple: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """int64 ids and mask, padded to the longest chunk rounded up to `multiple`."""
    longest = max(len(c.ids) for c in chunks)
    width = min(MAX_SEQ_LEN, -(-longest // multiple) * multiple)
    ids = np.full((len(chunks), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(chunks), width), dtype=np.int64)
    for row, c in enumerate(chunks):
        ids[row, :len(c.ids)] = c.ids
        mask[row, :len(c.ids)] = 1
    return ids, mask


def pool_chunks(chunks: list[Chunk], vectors: np.ndarray, n_texts: int) -> np.ndarray:
    """Token-weighted mean of chunk vectors per text, L2-normalised."""
    out = np.zeros((n_texts, vectors.shape[1]), dtype=np.float64)
    for c, v in zip(chunks, vectors):
        out[c.text_index] += v * (len(c.ids) - 2 or 1)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.maximum(norms, 1e-12)).astype(np.float32)


@lru_cache(maxsize=4)
def load_tokenizer(path: str) -> TextTokenizer:
    return TextTokenizer(Path(path))
