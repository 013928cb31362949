"""The wheels of an offline install folder: downloaded by pip for Windows, checked complete here.

pip can download for another platform (`--platform win_amd64 --python-version 3.12
--only-binary=:all:`), but it evaluates environment markers for the machine it runs on: on Linux
it skips `pywin32; platform_system == "Windows"` (xlwings) and `colorama; platform_system ==
"Windows"` (tqdm), and a folder made that way fails on the office PC.  So after pip has done its
part, `unmet` walks the dependency tree again with the markers of the *target* (CPython X.Y on
Windows x64), from the wheels actually in the folder, and `fill` downloads whatever that walk
finds missing, until nothing is.

Requirement and tag parsing is the `packaging` library's (pip's own copy when it is not installed
on its own: this command runs pip anyway).
"""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from evalbook.core.errors import EvalbookError

PLATFORM = "win_amd64"
PYTHON_VERSIONS = ("3.11", "3.12", "3.13")
MAX_ROUNDS = 10  # a dependency chain of markers deeper than this is not one anybody ships


def _packaging():
    try:
        import packaging.requirements  # noqa: F401  (also imports markers and specifiers)
        import packaging.tags  # noqa: F401
        import packaging.utils  # noqa: F401

        return packaging
    except ImportError:
        import pip._vendor.packaging.requirements  # noqa: F401
        import pip._vendor.packaging.tags  # noqa: F401
        import pip._vendor.packaging.utils  # noqa: F401

        return pip._vendor.packaging


def target_environment(python_version: str) -> dict[str, str]:
    """The marker values of CPython `python_version` (like "3.12") on 64-bit Windows."""
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{python_version}.0",
        "os_name": "nt",
        "platform_machine": "AMD64",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Windows",
        "platform_version": "",
        "python_full_version": f"{python_version}.0",
        "python_version": python_version,
        "sys_platform": "win32",
        "extra": "",
    }


def supported_tags(python_version: str) -> set:
    p = _packaging()
    major, minor = (int(part) for part in python_version.split("."))
    cp = f"cp{major}{minor}"
    tags = set(p.tags.cpython_tags((major, minor), abis=[cp], platforms=[PLATFORM]))
    return tags | set(p.tags.compatible_tags((major, minor), cp, [PLATFORM]))


@dataclass(frozen=True)
class Wheel:
    path: Path
    name: str  # canonical
    version: object  # packaging Version
    tags: frozenset


def wheels_in(folder: Path) -> list[Wheel]:
    p = _packaging()
    found = []
    for path in sorted(Path(folder).glob("*.whl")):
        try:
            name, version, _build, tags = p.utils.parse_wheel_filename(path.name)
        except p.utils.InvalidWheelFilename:
            continue
        found.append(Wheel(path, p.utils.canonicalize_name(name), version, frozenset(tags)))
    return found


def metadata(wheel: Path):
    """The wheel's METADATA (an email.message.Message)."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if not names:
            raise EvalbookError(f"“{wheel.name}”中没有 METADATA，不是有效的 wheel")
        text = archive.read(names[0]).decode("utf-8")
    return email.parser.Parser().parsestr(text, headersonly=True)


def unmet(folder: Path, roots: list[str], python_version: str) -> list[str]:
    """The requirements (as "需求（来自 包）") that no wheel in `folder` meets for CPython
    `python_version` on Windows x64, walking down from `roots`; empty when the folder is complete."""
    p = _packaging()
    env = target_environment(python_version)
    tags = supported_tags(python_version)
    by_name: dict[str, list[Wheel]] = {}
    for wheel in wheels_in(folder):
        if wheel.tags & tags:
            by_name.setdefault(wheel.name, []).append(wheel)
    missing: list[str] = []
    queue = [(p.requirements.Requirement(text), "") for text in roots]
    seen: set[tuple[str, str, frozenset]] = set()
    while queue:
        requirement, requirer = queue.pop(0)
        if requirement.marker is not None and not _marker_holds(requirement.marker, env, requirer_extras=()):
            continue
        name = p.utils.canonicalize_name(requirement.name)
        key = (name, str(requirement.specifier), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        candidates = [w for w in by_name.get(name, []) if requirement.specifier.contains(w.version, prereleases=True)]
        candidates = [w for w in candidates if _python_fits(w, python_version)]
        if not candidates:
            missing.append(f"{requirement}（来自 {requirer}）" if requirer else str(requirement))
            continue
        best = max(candidates, key=lambda w: w.version)
        for text in metadata(best.path).get_all("Requires-Dist") or []:
            dependency = p.requirements.Requirement(text)
            if dependency.marker is None or _marker_holds(dependency.marker, env, requirement.extras):
                queue.append((_without_marker(dependency), best.path.name))
    return missing


def _marker_holds(marker, env: dict[str, str], requirer_extras) -> bool:
    if marker.evaluate(env):
        return True
    return any(marker.evaluate({**env, "extra": extra}) for extra in requirer_extras)


def _without_marker(requirement):
    """The requirement once its marker has been judged (the walk judges each one only once, for
    the target, never again for this machine)."""
    copy = type(requirement)(str(requirement))
    copy.marker = None
    return copy


def _python_fits(wheel: Wheel, python_version: str) -> bool:
    p = _packaging()
    requires = metadata(wheel.path).get("Requires-Python")
    if not requires:
        return True
    return p.specifiers.SpecifierSet(requires).contains(f"{python_version}.0", prereleases=True)


# ---- running pip ------------------------------------------------------------------------------


PIP_MODULE = "pip"


def pip_command() -> list[str]:
    return [sys.executable, "-m", PIP_MODULE]


def run_pip(arguments: list[str], doing: str, env: dict[str, str] | None = None) -> None:
    """pip with `arguments`; a failure becomes one Chinese sentence naming pip's own last error."""
    try:
        done = subprocess.run(pip_command() + arguments, capture_output=True, text=True, encoding="utf-8",
                              errors="replace", env=env)
    except OSError as exc:
        raise EvalbookError(f"无法运行 pip（{exc.strerror or exc}）") from None
    if done.returncode == 0:
        return
    output = (done.stderr or "") + (done.stdout or "")
    if f"No module named {PIP_MODULE}" in output:
        raise EvalbookError(f"{sys.executable} 没有安装 pip；请先运行 {sys.executable} -m ensurepip")
    reason = _last_error(output)
    hint = "请检查网络连接或代理设置" if _looks_offline(output) else "请检查上面的包名和版本"
    raise EvalbookError(f"{doing}失败（pip 退出码 {done.returncode}）：{reason}；{hint}")


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["（pip 未给出原因）"])[-1][:300]


def _looks_offline(output: str) -> bool:
    words = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable",
             "Max retries exceeded", "ConnectTimeout", "ProxyError", "No matching distribution")
    return any(word in output for word in words)


def download(requirements: list[str], folder: Path, python_version: str, pip_options: list[str]) -> None:
    """pip download of `requirements` (and what pip resolves for them) for CPython `python_version`
    on Windows x64 into `folder`; the folder itself is a find-links source, so a wheel already
    there (evalbook's own) satisfies its requirement."""
    arguments = ["download", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
                 "--dest", str(folder), "--find-links", str(folder),
                 "--platform", PLATFORM, "--python-version", python_version,
                 "--implementation", "cp", "--only-binary=:all:", *pip_options, *requirements]
    run_pip(arguments, f"下载 Python {python_version} 所需的 wheel")


def fill(folder: Path, roots: list[str], python_version: str, pip_options: list[str]) -> None:
    """Download `roots` for `python_version`, then whatever the Windows markers add, until the folder
    meets every requirement; otherwise a Chinese error listing what is still missing."""
    download(roots, folder, python_version, pip_options)
    for _ in range(MAX_ROUNDS):
        missing = unmet(folder, roots, python_version)
        if not missing:
            return
        download([item.split("（来自 ")[0] for item in missing], folder, python_version, pip_options)
    missing = unmet(folder, roots, python_version)
    if missing:
        raise EvalbookError(f"Python {python_version} 仍缺少：{'；'.join(missing)}")


def build_own_wheel(source: Path, folder: Path, pip_options: list[str]) -> Path:
    """`pip wheel --no-deps SOURCE` into `folder`; returns the evalbook wheel it made (pip fetches
    the build backend, setuptools, through the same index options)."""
    scratch = folder / ".build"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        run_pip(["wheel", "--disable-pip-version-check", "--no-input", "--no-deps", "--wheel-dir", str(scratch),
                 *pip_options, str(source)], "生成 evalbook 的 wheel")
        made = [w for w in scratch.glob("evalbook-*.whl")]
        if len(made) != 1:
            raise EvalbookError(f"生成 evalbook 的 wheel 失败：{source} 中没有生成唯一的 evalbook wheel")
        for old in folder.glob("evalbook-*.whl"):
            old.unlink()
        final = folder / made[0].name
        os.replace(made[0], final)
        return final
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
