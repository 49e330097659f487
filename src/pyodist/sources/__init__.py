"""Sources: the configured package index, the sha256 cache, fetching, extraction, patching."""

from pyodist.sources.cache import SourceCache
from pyodist.sources.extract import extract_archive, source_root
from pyodist.sources.fetch import Fetcher, FetchResult
from pyodist.sources.index import IndexSettings, PackageIndex, configured_index
from pyodist.sources.patch import apply_patches, copy_extras
from pyodist.sources.prepare import prepare_source

__all__ = [
    "FetchResult",
    "Fetcher",
    "IndexSettings",
    "PackageIndex",
    "SourceCache",
    "apply_patches",
    "configured_index",
    "copy_extras",
    "extract_archive",
    "prepare_source",
    "source_root",
]
