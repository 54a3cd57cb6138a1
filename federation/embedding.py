"""Built-in text embedders, used to turn a string query into a vector.

`VECTOR_SEARCH(t, 'some text', ...)` needs the same embedding function that
produced the table's vectors. Real sentence-embedding models are an optional
extra: they pull in large dependencies and download weights at run time, which
neither CI nor an offline machine can do. `HashEmbedder` needs nothing but
numpy, is deterministic across processes and machines, and is good enough for
the demo and the tests: texts that share words land clearly closer together
than unrelated texts.

It is the "hashing trick": every feature (a word, a word bigram, a character
trigram of a word) is hashed to one of `dim` buckets and a sign, and the signed
weights are summed and L2-normalised.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

# Words carry the meaning; character trigrams only make related word forms
# ("pool", "pooling") overlap a little, so they weigh less.
_WORD_WEIGHT = 1.0
_BIGRAM_WEIGHT = 0.5
_TRIGRAM_WEIGHT = 0.2

_WORD = re.compile(r"\w+")


def _features(text: str) -> Iterator[tuple[str, float]]:
    """Yield (feature, weight) pairs; the prefixes keep the three kinds apart."""
    words = _WORD.findall(text.lower())
    for word in words:
        yield "w:" + word, _WORD_WEIGHT
        marked = f"<{word}>"
        for i in range(len(marked) - 2):
            yield "c:" + marked[i : i + 3], _TRIGRAM_WEIGHT
    for first, second in itertools.pairwise(words):
        yield f"b:{first} {second}", _BIGRAM_WEIGHT


def _bucket_and_sign(feature: str, dim: int) -> tuple[int, float]:
    # blake2b, not hash(): Python salts str hashes per process, and the vectors
    # stored in a table must match the ones computed for a query later.
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    # A random sign per feature makes colliding features cancel on average
    # instead of piling up (the top bit picks the sign, the other 63 the bucket).
    sign = -1.0 if value >> 63 else 1.0
    return (value & (2**63 - 1)) % dim, sign


class HashEmbedder:
    """Deterministic bag-of-features embedder with `dim` dimensions."""

    name = "hash"

    def __init__(self, dim: int = 64) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
            raise ValueError(f"embedder dim must be a positive integer, got {dim!r}")
        self.dim = dim

    def __repr__(self) -> str:
        return f"HashEmbedder(dim={self.dim})"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed each text; returns float32 of shape (len(texts), dim).

        Rows are L2-normalised, so dot product equals cosine similarity. A text
        without any word character embeds to the zero vector.
        """
        if isinstance(texts, str):
            # A str is a Sequence[str] too; embedding its characters one by one
            # is never what the caller meant.
            raise TypeError("embed() takes a sequence of strings; use embed_one() for one text")
        out = np.zeros((len(texts), self.dim), dtype=np.float64)
        for row, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"can only embed strings, got {type(text).__name__} at position {row}")
            for feature, weight in _features(text):
                bucket, sign = _bucket_and_sign(feature, self.dim)
                out[row, bucket] += sign * weight
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out.astype(np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        """Embed one text; returns float32 of shape (dim,)."""
        return self.embed([text])[0]


EMBEDDERS: dict[str, type[HashEmbedder]] = {"hash": HashEmbedder}


def make_embedder(spec: str | Mapping[str, Any]) -> HashEmbedder:
    """Build an embedder from a name ("hash") or a mapping ({"name": "hash", "dim": 64}).

    Raises ValueError for an unknown name or option.
    """
    if isinstance(spec, str):
        name, options = spec, {}
    elif isinstance(spec, Mapping):
        options = dict(spec)
        name = options.pop("name", None)
        if not isinstance(name, str):
            raise ValueError(f"embedder spec needs a string 'name' key, got {dict(spec)!r}")
    else:
        raise ValueError(f"embedder spec must be a name or a table with a 'name' key, got {spec!r}")

    try:
        cls = EMBEDDERS[name]
    except KeyError:
        known = ", ".join(repr(n) for n in sorted(EMBEDDERS))
        raise ValueError(f"unknown embedder {name!r}; known embedders: {known}") from None

    accepted = set(inspect.signature(cls).parameters)
    unknown = sorted(set(options) - accepted)
    if unknown:
        allowed = ", ".join(sorted(accepted)) or "none"
        raise ValueError(f"embedder {name!r} has no option {', '.join(unknown)}; options: {allowed}")
    return cls(**options)
