"""Reading and writing whole torch.distributed.checkpoint (DCP) directories in one process.

OLMo-core 3.0 writes DCP with its own storage writer: the tensor files are torch's layout (each
tensor ``torch.save``d at an offset), but the pickled ``.metadata`` names its own
``olmo_core.distributed.checkpoint.filesystem._StorageInfo`` class, which does not exist here (and
must not: that import name is ours). :class:`PeerAwareReader` unpickles the metadata with that class
mapped to torch's identical ``_StorageInfo`` and refuses any class outside DCP's data classes
(:mod:`olmo_core.checkpoint.dcp_safe`);
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

from olmo_core.checkpoint.dcp_safe import check_shards, read_metadata_file

_OLMO_CORE_STORAGE_INFO = ("olmo_core.distributed.checkpoint.filesystem", "_StorageInfo")


@contextlib.contextmanager
def dcp_quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        # one process, no process group: what DCP warns about is what we want
        warnings.filterwarnings("ignore", message=".*process group.*")
        warnings.filterwarnings("ignore", message=".*torch.distributed is disabled.*")
        yield


class PeerAwareReader(FileSystemReader):
    """torch's FileSystemReader that also reads the metadata OLMo-core's writer pickles."""

    def read_metadata(self, *args: Any, **kwargs: Any) -> Metadata:
        # DCP's data classes only (olmo_core.checkpoint.dcp_safe), OLMo-core's storage info as torch's
        directory = Path(str(self.path))
        metadata = read_metadata_file(directory / ".metadata", {_OLMO_CORE_STORAGE_INFO: torch_fs._StorageInfo})
        check_shards(directory, metadata)
        if getattr(metadata, "storage_meta", None) is None:
            metadata.storage_meta = StorageMeta()
        metadata.storage_meta.load_id = self.load_id
        return metadata


def read_dcp(path: str | Path) -> dict[str, Any]:
    """Everything in a DCP directory as the nested dict it was saved from (tensors on CPU)."""
    from torch.distributed.checkpoint.default_planner import _EmptyStateDictLoadPlanner
    from torch.distributed.checkpoint.state_dict_loader import _load_state_dict

    from olmo_core.checkpoint.dcp_safe import CheckpointException, InterfaceError, load_bytes_safely, refusal

    class Planner(_EmptyStateDictLoadPlanner):
        def load_bytes(self, read_item: Any, value: Any) -> None:  # weights_only=True, not torch's False
            load_bytes_safely(self, read_item, value)

    sd: dict[str, Any] = {}
    with dcp_quiet():
        # what torch's own dcp_to_torch_save does: load every key the metadata lists
        try:
            _load_state_dict(sd, storage_reader=PeerAwareReader(str(path)), planner=Planner(), no_dist=True)
        except InterfaceError:
            raise
        except (Exception, CheckpointException) as e:  # CheckpointException is a BaseException
            raise InterfaceError(refusal(Path(path), e)) from None
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
    metadata = read_metadata_file(meta)
    tmp = meta.with_name(".metadata.tmp")
    with open(tmp, "wb") as f:
        _PortablePickler(f, protocol=pickle.DEFAULT_PROTOCOL).dump(metadata)
    tmp.replace(meta)
