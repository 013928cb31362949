"""Write a changed copy of a zip package atomically: a temporary file beside the target that
replaces it only when complete and flushed, so a crash at any moment leaves the original."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Iterable, Mapping

from .base import WorkbookUnusable


def rewrite_zip(
    infos: Iterable[zipfile.ZipInfo],
    read: Callable[[str], bytes],
    target: Path,
    replaced: Mapping[str, bytes] | None = None,
    added: Mapping[str, bytes] | None = None,
    dropped: Callable[[str], bool] = lambda name: False,
) -> Path:
    replaced = replaced or {}
    added = added or {}
    fd, temp = tempfile.mkstemp(prefix=".~evalbook-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as out:
            last_date = (1980, 1, 1, 0, 0, 0)
            for info in infos:
                name = info.filename
                if dropped(name):
                    continue
                data = replaced[name] if name in replaced else read(name)
                clone = zipfile.ZipInfo(name, date_time=info.date_time)
                clone.compress_type = info.compress_type
                clone.external_attr = info.external_attr
                clone.create_system = info.create_system
                out.writestr(clone, data)
                last_date = info.date_time
            for name, data in added.items():
                info = zipfile.ZipInfo(name, date_time=last_date)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                out.writestr(info, data)
            out.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(temp, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(temp, target)
    except OSError as exc:
        _remove_quietly(temp)
        if getattr(exc, "errno", None) == 28:
            raise WorkbookUnusable(f"磁盘空间不足，无法保存“{target.name}”；原文件未被改动") from None
        raise WorkbookUnusable(f"无法保存“{target.name}”（{exc.strerror or exc}）；原文件未被改动") from None
    except BaseException:
        _remove_quietly(temp)
        raise
    return target


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
