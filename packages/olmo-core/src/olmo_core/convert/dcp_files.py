"""Reading and writing whole torch.distributed.checkpoint (DCP) directories in one process.

OLMo-core 3.0 writes DCP with its own storage writer: the tensor files are torch's layout (each
tensor ``torch.save``d at an offset), but the pickled ``.metadata`` names its own
``olmo_core.distributed.checkpoint.filesystem._StorageInfo`` class, which does not exist here (and
must not: that import name is ours). :class:`PeerAwareReader` unpickles the metadata with that class
mapped to torch's identical ``_StorageInfo`` and refuses any class outside torch and the builtins;
the tensors then load through torch's reader (``torch.load(weights_only=True)``). We write with
torch's own writer, whose tensor files OLMo-core's reader loads; its ``.metadata`` is then pickled
again in the form torch before 2.14 reads (OLMo-core 3.0 requires torch<2.14, whose
``TensorProperties`` unpickles five fields, not the six torch 2.14+ writes; torch 2.14+ reads both)."""

from __future__ import annotations

import contextlib
import copyreg
import pickle
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from torch.distributed.checkpoint import FileSystemReader, FileSystemWriter
from torch.distributed.checkpoint import filesystem as torch_fs
from torch.distributed.checkpoint.metadata import Metadata, StorageMeta, TensorProperties

#: classes a DCP ``.metadata`` pickle may name (module prefixes), besides OLMo-core's storage info
_ALLOWED_MODULES = ("torch", "builtins", "collections", "copyreg", "enum", "dataclasses", "_codecs", "pathlib")
_OLMO_CORE_STORAGE_INFO = ("olmo_core.distributed.checkpoint.filesystem", "_StorageInfo")


@contextlib.contextmanager
def dcp_quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        # one process, no process group: what DCP warns about is what we want
        warnings.filterwarnings("ignore", message=".*process group.*")
        warnings.filterwarnings("ignore", message=".*torch.distributed is disabled.*")
        yield


class _MetadataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == _OLMO_CORE_STORAGE_INFO:
            return torch_fs._StorageInfo
        if module.split(".")[0] in _ALLOWED_MODULES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"DCP metadata names {module}.{name}: not a torch class; refused")


class PeerAwareReader(FileSystemReader):
    """torch's FileSystemReader that also reads the metadata OLMo-core's writer pickles."""

    def read_metadata(self, *args: Any, **kwargs: Any) -> Metadata:
        path = Path(str(self.path)) / ".metadata"
        if not path.is_file():
            raise ValueError(f"{self.path}: no .metadata (not a DCP directory)")
        with open(path, "rb") as f:
            metadata = _MetadataUnpickler(f).load()
        if not isinstance(metadata, Metadata):
            raise ValueError(f"{path}: holds a {type(metadata).__name__}, not DCP Metadata")
        if getattr(metadata, "storage_meta", None) is None:
            metadata.storage_meta = StorageMeta()
        metadata.storage_meta.load_id = self.load_id
        return metadata


def read_dcp(path: str | Path) -> dict[str, Any]:
    """Everything in a DCP directory as the nested dict it was saved from (tensors on CPU)."""
    from torch.distributed.checkpoint.default_planner import _EmptyStateDictLoadPlanner
    from torch.distributed.checkpoint.state_dict_loader import _load_state_dict

    sd: dict[str, Any] = {}
    with dcp_quiet():
        # what torch's own dcp_to_torch_save does: load every key the metadata lists
        _load_state_dict(sd, storage_reader=PeerAwareReader(str(path)), planner=_EmptyStateDictLoadPlanner(),
                         no_dist=True)
    return sd


class _PortablePickler(pickle.Pickler):
    """Pickles ``TensorProperties`` with the five fields every torch since 2.0 reads (the sixth,
    ``strides``, is None for the contiguous tensors written here)."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, TensorProperties):
            return copyreg.__newobj__, (TensorProperties,), tuple(obj.__getstate__())[:5]
        return NotImplemented


def write_dcp(path: str | Path, state: dict[str, Any]) -> None:
    """``state`` as a DCP directory that torch 2.x, OLMo-core 3.0's included, loads."""
    import torch.distributed.checkpoint as dcp

    path = Path(path)
    with dcp_quiet():
        dcp.save(state, storage_writer=FileSystemWriter(str(path)), no_dist=True)
    meta = path / ".metadata"
    with open(meta, "rb") as f:
        metadata = _MetadataUnpickler(f).load()
    tmp = meta.with_name(".metadata.tmp")
    with open(tmp, "wb") as f:
        _PortablePickler(f, protocol=pickle.DEFAULT_PROTOCOL).dump(metadata)
    tmp.replace(meta)
