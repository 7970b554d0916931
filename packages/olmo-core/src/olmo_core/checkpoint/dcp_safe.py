"""Reading torch.distributed.checkpoint (DCP) directories as data only, and refusing damaged ones by name.

torch's own reader unpickles ``.metadata`` with plain ``pickle.load`` and its default planner reads
non-tensor items with ``torch.load(weights_only=False)``: either runs whatever code a crafted
checkpoint carries. Here the metadata is unpickled by :class:`MetadataUnpickler` (an allow-list of
DCP's metadata classes, ``torch.Size`` and dtypes: nothing callable beyond constructors of data) and
non-tensor items by ``torch.load(weights_only=True)``. Before any tensor is read, every item the
metadata lists must lie inside its ``.distcp`` file, so a truncated shard is refused with its name
instead of failing deep inside torch."""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.distributed.checkpoint import FileSystemReader
from torch.distributed.checkpoint.api import CheckpointException
from torch.distributed.checkpoint.default_planner import DefaultLoadPlanner
from torch.distributed.checkpoint.metadata import Metadata, StorageMeta

from olmo_core.interfaces import InterfaceError

#: the classes a DCP ``.metadata`` pickle names (torch 2.x writers, one process or many)
_SAFE_CLASSES = {
    ("torch", "Size"),
    ("torch.serialization", "_get_layout"),  # a layout from its name
    ("torch.distributed.checkpoint.filesystem", "_StorageInfo"),
    ("pathlib", "PosixPath"), ("pathlib", "PurePosixPath"),  # the checkpoint id recorded in StorageMeta
    ("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"),
}
_METADATA_MODULE = "torch.distributed.checkpoint.metadata"  # dataclasses and enums of plain fields


def safe_class(module: str, name: str) -> bool:
    if (module, name) in _SAFE_CLASSES or (module == _METADATA_MODULE and not name.startswith("__")):
        return True
    # dtypes, layouts and memory formats pickle as attributes of the torch module
    return module == "torch" and isinstance(getattr(torch, name, None), torch.dtype | torch.layout | torch.memory_format)


class MetadataUnpickler(pickle.Unpickler):
    """Refuses any class outside :func:`safe_class`; ``rename`` maps other writers' names of the same
    data classes (OLMo-core's ``_StorageInfo``) to torch's."""

    def __init__(self, file: Any, rename: dict[tuple[str, str], Any] | None = None) -> None:
        super().__init__(file)
        self.rename = rename or {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.rename:
            return self.rename[(module, name)]
        if safe_class(module, name):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"names {module}.{name}, which a checkpoint may not (only DCP's data "
                                     "classes are read; a checkpoint must never run code)")


def read_metadata_file(path: Path, rename: dict[tuple[str, str], Any] | None = None) -> Metadata:
    try:
        with open(path, "rb") as f:
            metadata = MetadataUnpickler(f, rename).load()
    except FileNotFoundError:
        raise InterfaceError(f"{path}: missing, so {path.parent} is no DCP checkpoint") from None
    except Exception as e:  # a truncated or flipped pickle raises anything from EOFError to KeyError
        raise InterfaceError(f"{path}: unreadable DCP metadata ({type(e).__name__}: {e})") from None
    if not isinstance(metadata, Metadata):
        raise InterfaceError(f"{path}: holds a {type(metadata).__name__}, not DCP Metadata")
    return metadata


def check_shards(directory: Path, metadata: Metadata) -> None:
    """Every stored item lies inside its ``.distcp`` file: a truncated or missing shard is named."""
    need: dict[str, int] = {}
    for info in (metadata.storage_data or {}).values():
        rel = getattr(info, "relative_path", None)
        if not isinstance(rel, str) or "/" in rel or rel.startswith("."):
            raise InterfaceError(f"{directory / '.metadata'}: lists a shard path {rel!r} outside the checkpoint")
        need[rel] = max(need.get(rel, 0), int(info.offset) + int(info.length))
    for rel, end in sorted(need.items()):
        shard = directory / rel
        if not shard.is_file():
            raise InterfaceError(f"{shard}: listed in {directory / '.metadata'} but missing")
        if (size := shard.stat().st_size) < end:
            raise InterfaceError(f"{shard}: {size} bytes, the metadata needs {end} (truncated)")


class SafeReader(FileSystemReader):
    """torch's FileSystemReader with the metadata read by :func:`read_metadata_file` and checked
    against the shard files."""

    rename: dict[tuple[str, str], Any] = {}

    def read_metadata(self, *args: Any, **kwargs: Any) -> Metadata:
        directory = Path(str(self.path))
        metadata = read_metadata_file(directory / ".metadata", self.rename)
        check_shards(directory, metadata)
        if getattr(metadata, "storage_meta", None) is None:
            metadata.storage_meta = StorageMeta()
        metadata.storage_meta.load_id = self.load_id
        return metadata


def load_bytes_safely(planner: DefaultLoadPlanner, read_item: Any, value: io.BytesIO) -> None:
    """``DefaultLoadPlanner.load_bytes`` with ``weights_only=True``: non-tensor items (an optimizer's
    hyper-parameters, a step counter) are plain data, never objects that run code."""
    from torch.distributed.checkpoint._traverse import set_element  # what torch's planner uses

    try:
        obj = torch.load(value, weights_only=True)
    except Exception as e:
        raise InterfaceError(f"item {read_item.dest_index.fqn!r}: not plain data ({type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if planner.flatten_state_dict:
        set_element(planner.original_state_dict, planner.mappings[read_item.dest_index.fqn], obj)
    else:
        planner.state_dict[read_item.dest_index.fqn] = obj


class SafeLoadPlanner(DefaultLoadPlanner):
    def load_bytes(self, read_item: Any, value: io.BytesIO) -> None:
        load_bytes_safely(self, read_item, value)


def dcp_load(state_dict: dict[str, Any], directory: Path, *, load: Callable[..., Any] | None = None) -> None:
    """``dcp.load`` through :class:`SafeReader` and :class:`SafeLoadPlanner`; any failure names the
    directory and its shard files."""
    import torch.distributed.checkpoint as dcp

    directory = Path(directory)
    try:
        (load or dcp.load)(state_dict, storage_reader=SafeReader(str(directory)), planner=SafeLoadPlanner())
    except InterfaceError:
        raise
    except (Exception, CheckpointException) as e:  # DCP wraps read errors in CheckpointException, a BaseException
        raise InterfaceError(refusal(directory, e)) from None


def refusal(directory: Path, error: BaseException) -> str:
    inner = [str(x) for x in getattr(error, "failures", {}).values()] or [str(error)]
    first = next((ln for ln in "\n".join(inner).splitlines()[::-1] if ln.strip()), type(error).__name__)
    if "InterfaceError: " in first:  # our own refusal, raised inside DCP's reader
        first = first.split("InterfaceError: ", 1)[1]
    # which file is at fault DCP does not say (a flipped key in .metadata reads as a missing tensor)
    shards = ", ".join([".metadata", *sorted(p.name for p in directory.glob("*.distcp"))])
    return f"{directory} ({shards}): could not be read: {first}"
