"""Built search indexes kept on disk, so that a process starts with them instead of rebuilding (no cold first message).

After each build (`retrieval`), an agent's index is written under `<data dir>/indexes/<agent id>/<kb_version>-<code>/`:
the lexical postings and the dense vectors as `.npy` arrays, loaded memory-mapped (the pages come from the file
cache, shared by every process of the machine), the vocabularies as text (one term a line, in id order), the passages
and the scalars as JSON. Loading 20,000 chunks is reading files, not tokenising them again.

An index is used only for the `kb_version` the database holds (any knowledge change bumps it), for the embeddings
model in use (the dense part depends on it), and for the code that built it: `<code>` is a digest of the indexing
modules' source (tokenising, stemming, n-grams, BM25 weights), so a change to them rebuilds rather than searching
stale postings. A directory is written under a temporary name and renamed into place, so a reader (another web
process) sees a whole index or none; older versions of the agent are removed after a write. Anything unreadable is
ignored (logged): the index is then built from the database as before. The files hold the knowledge base's text,
which the database keeps unencrypted too; an agent's directory goes with its next build or `forget_agent`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from jasping.config import get_settings
from jasping.knowledge.dense import DenseIndex
from jasping.knowledge.lexical import LexicalIndex

log = logging.getLogger(__name__)
FORMAT = 1
PASSAGE_FIELDS = ("chunk_id", "source_id", "title", "url", "page", "heading_path", "text", "language")
_CODE = ("lexical.py", "analysis.py", "dictionary.py", "ingest/chunker.py", "persist.py")


@lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of the source of the modules that decide what an index holds (12 hex digits)."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    for name in _CODE:
        try:
            digest.update((here / name).read_bytes())
        except OSError:
            digest.update(name.encode())
    return digest.hexdigest()[:12]


def root() -> Path:
    return Path(get_settings().data_dir) / "indexes"


def _agent_dir(agent_id: str) -> Path:
    if not agent_id or "/" in agent_id or agent_id.startswith("."):
        raise ValueError(f"not an agent id: {agent_id!r}")
    return root() / agent_id


def _name(version: int) -> str:
    return f"{int(version)}-{code_digest()}"


def save(
    agent_id: str,
    version: int,
    *,
    lexical: LexicalIndex,
    passages: list[tuple],
    dense: DenseIndex | None,
    language: str | None,
    embedder: str | None,
) -> Path | None:
    """Write the agent's built index for `version` (`passages`: tuples in `PASSAGE_FIELDS` order, in index order);
    its path, or None when it could not be written (logged; the process keeps its index in memory)."""
    try:
        final = _agent_dir(agent_id) / _name(version)
        if final.exists():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=final.parent))
        try:
            _write(tmp, lexical, passages, dense, language, embedder, version)
            try:
                os.rename(tmp, final)  # atomic: readers see the whole directory or none
            except OSError:
                if not final.exists():
                    raise
                shutil.rmtree(tmp, ignore_errors=True)  # another process wrote the same index first
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _remove_older(final.parent, keep=final.name)
        return final
    except Exception:  # noqa: BLE001 - a disk problem costs the next start a rebuild, never a search
        log.exception("could not write the index of agent %s", agent_id)
        return None


def _write(
    path: Path,
    lexical: LexicalIndex,
    passages: list[tuple],
    dense: DenseIndex | None,
    language: str | None,
    embedder: str | None,
    version: int,
) -> None:
    scalars, arrays, vocabs = lexical.state()
    for name, array in arrays.items():
        np.save(path / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
    if dense is not None:
        np.save(path / "dense.npy", np.ascontiguousarray(dense.matrix, np.float32), allow_pickle=False)
    for name, terms in vocabs.items():
        if any("\n" in t for t in terms):  # never from the tokenisers; checked so that ids cannot shift
            raise ValueError(f"a {name} term holds a line break")
        (path / f"{name}.vocab").write_text("\n".join(terms), encoding="utf-8")
    columns = {f: [p[i] for p in passages] for i, f in enumerate(PASSAGE_FIELDS) if f != "text"}
    (path / "passages.json").write_text(json.dumps(columns, ensure_ascii=False), encoding="utf-8")
    texts = [p[PASSAGE_FIELDS.index("text")].encode("utf-8") for p in passages]  # read on demand (`Passages`)
    (path / "texts.bin").write_bytes(b"".join(texts))
    np.save(path / "text_offsets.npy", np.cumsum([0, *map(len, texts)], dtype=np.int64), allow_pickle=False)
    meta = {
        "format": FORMAT,
        "version": version,
        "code": code_digest(),
        "count": len(passages),
        "lexical": scalars,
        "vocab_sizes": {name: len(terms) for name, terms in vocabs.items()},
        "dense": dense is not None,
        "embedder": embedder,  # the model in use at the build (None: none): it decided which vectors were read
        "language": language,
    }
    (path / "meta.json").write_text(json.dumps(meta), encoding="utf-8")  # last: its presence marks a whole index


def _remove_older(agent_dir: Path, keep: str) -> None:
    for child in agent_dir.iterdir():
        if child.name != keep and not child.name.startswith("."):
            shutil.rmtree(child, ignore_errors=True)


def load(agent_id: str, version: int, embedder: str | None) -> dict[str, Any] | None:
    """The parts of the agent's index for `version` written by this code, or None (absent, another code's, or
    built under another embeddings model than `embedder`): `ids`, `lexical`, `passages` (columns by
    `PASSAGE_FIELDS`), `dense`, `language`. Arrays are memory-mapped, read-only."""
    path = _agent_dir(agent_id) / _name(version)
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    try:
        if meta.get("format") != FORMAT or meta.get("version") != version or meta.get("code") != code_digest():
            return None
        if meta["embedder"] != embedder:
            return None  # built for another embeddings setting: its vectors (or their absence) would be wrong
        columns = json.loads((path / "passages.json").read_text(encoding="utf-8"))
        ids = columns["chunk_id"]
        vocabs = {}
        for name, size in meta["vocab_sizes"].items():
            text = (path / f"{name}.vocab").read_text(encoding="utf-8")
            vocabs[name] = text.split("\n") if size else []
            if len(vocabs[name]) != size:
                raise ValueError(f"{name}.vocab holds {len(vocabs[name])} terms, not {size}")
        arrays = {  # plain arrays over the mapped files: slicing a np.memmap runs Python code per slice
            f.stem: np.asarray(np.load(f, mmap_mode="r", allow_pickle=False))
            for f in path.glob("*.npy")
            if f.name not in ("dense.npy", "text_offsets.npy")
        }
        offsets = np.load(path / "text_offsets.npy", allow_pickle=False)
        blob = np.memmap(path / "texts.bin", dtype=np.uint8, mode="r") if offsets[-1] else np.zeros(0, np.uint8)
        if len(offsets) != len(ids) + 1 or int(offsets[-1]) != len(blob):
            raise ValueError("texts.bin does not match its offsets")
        columns["text"] = Texts(blob, offsets)
        lexical = LexicalIndex.restored(ids, meta["lexical"], arrays, vocabs)
        dense = None
        if meta["dense"]:
            dense = DenseIndex.restored(ids, np.asarray(np.load(path / "dense.npy", mmap_mode="r", allow_pickle=False)))
        if len(ids) != meta["count"] or (dense is not None and dense.matrix.shape[0] != len(ids)):
            raise ValueError("the index's parts do not have the same number of chunks")
        return {"ids": ids, "lexical": lexical, "passages": columns, "dense": dense, "language": meta["language"]}
    except Exception:  # noqa: BLE001 - an unreadable index is rebuilt from the database
        log.warning("the stored index of agent %s (%s) is unreadable; rebuilding it", agent_id, path, exc_info=True)
        return None


class Texts:
    """The passages' texts of a stored index, decoded from the memory-mapped file when one is read (a search reads
    a handful), instead of 20,000 strings decoded at start-up and held in memory."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self.blob, self.offsets = blob, offsets.tolist()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, n: int) -> str:
        return bytes(self.blob[self.offsets[n] : self.offsets[n + 1]]).decode("utf-8")


class Passages(Mapping):
    """Passages by chunk id, each made (by `make`, with the fields of `PASSAGE_FIELDS`) when it is read."""

    def __init__(self, ids: list[str], columns: dict[str, Any], make: Any) -> None:
        self._row = {cid: n for n, cid in enumerate(ids)}
        self._columns = [columns[f] for f in PASSAGE_FIELDS]
        self._make = make

    def __getitem__(self, chunk_id: str) -> Any:
        n = self._row[chunk_id]
        return self._make(*(column[n] for column in self._columns))

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)


def forget_agent(agent_id: str) -> None:
    """Remove the agent's stored indexes (the agent is deleted)."""
    shutil.rmtree(_agent_dir(agent_id), ignore_errors=True)
