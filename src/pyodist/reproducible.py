"""The fixed time every archive pyodist writes is stamped with, unless SOURCE_DATE_EPOCH
says otherwise: 1980-01-01 00:00 UTC, the earliest a zip file's DOS timestamps can hold."""

from __future__ import annotations

__all__ = ["ZIP_EPOCH"]

ZIP_EPOCH = 315532800
