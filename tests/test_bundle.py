"""`evalbook bundle`: the offline install folder is complete for every Python it names, pip resolves
an install from it alone, and a failure is one Chinese line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from evalbook import __version__
from evalbook.cli import main
from evalbook.install import scripts, wheels

ROOT = Path(__file__).resolve().parent.parent


def make_wheel(folder: Path, name: str, version: str, tag: str = "py3-none-any", requires=(),
               requires_python: str | None = None) -> Path:
    path = folder / f"{name}-{version}-{tag}.whl"
    info = f"{name}-{version}.dist-info"
    meta = [f"Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        meta.append(f"Requires-Python: {requires_python}")
    meta += [f"Requires-Dist: {r}" for r in requires]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}/__init__.py", "")
        archive.writestr(f"{info}/METADATA", "\n".join(meta) + "\n")
        archive.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n")
        archive.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture
def index(tmp_path, monkeypatch):
    """A local find-links folder standing in for the package index, and pip told to use only it.

    alpha needs beta only on Windows (as xlwings needs pywin32) and gamma>=2 everywhere; beta is
    Windows-only, per CPython, and needs delta on win32; epsilon is needed on Linux only."""
    folder = tmp_path / "index"
    folder.mkdir()
    make_wheel(folder, "alpha", "1.0", requires=['beta; platform_system == "Windows"', "gamma>=2",
                                               'epsilon; sys_platform == "linux"', 'zeta; extra == "more"'])
    for cp in ("cp311", "cp312", "cp313"):
        make_wheel(folder, "beta", "1.0", f"{cp}-{cp}-win_amd64", requires=['delta; sys_platform == "win32"'])
    make_wheel(folder, "gamma", "1.0")
    make_wheel(folder, "gamma", "2.0")
    make_wheel(folder, "delta", "1.0")
    make_wheel(folder, "epsilon", "1.0")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for name in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)
    return ["--no-index", "--find-links", str(folder)]


def names(folder: Path) -> set[str]:
    return {path.name for path in folder.glob("*.whl")}


def test_pip_alone_misses_the_windows_only_dependency_and_fill_adds_it(tmp_path, index):
    out = tmp_path / "wheels"
    out.mkdir()
    wheels.download(["alpha==1.0"], out, "3.12", index)
    # pip judged the markers for this Linux machine: beta (Windows) missing, epsilon (Linux) fetched
    assert "epsilon-1.0-py3-none-any.whl" in names(out)
    assert wheels.unmet(out, ["alpha==1.0"], "3.12") == ["beta（来自 alpha-1.0-py3-none-any.whl）"]
    wheels.fill(out, ["alpha==1.0"], "3.12", index)
    assert {"beta-1.0-cp312-cp312-win_amd64.whl", "delta-1.0-py3-none-any.whl",
            "gamma-2.0-py3-none-any.whl"} <= names(out)
    assert wheels.unmet(out, ["alpha==1.0"], "3.12") == []
    # complete for 3.12 is not complete for 3.13: beta is per CPython version
    assert wheels.unmet(out, ["alpha==1.0"], "3.13") == ["beta（来自 alpha-1.0-py3-none-any.whl）"]


def test_unmet_reads_versions_tags_extras_and_requires_python(tmp_path):
    folder = tmp_path
    make_wheel(folder, "top", "1.0", requires=["low>=2", "plat", "old", "opt[fast]"])
    make_wheel(folder, "low", "1.5")  # too old for low>=2
    make_wheel(folder, "plat", "1.0", "cp312-cp312-manylinux_2_28_x86_64")  # Linux wheel: no use on Windows
    make_wheel(folder, "old", "1.0", requires_python="<3.11")
    make_wheel(folder, "opt", "1.0", requires=['speed; extra == "fast"', 'never; extra == "slow"'])
    make_wheel(folder, "speed", "1.0", "cp312-abi3-win_amd64")
    assert wheels.unmet(folder, ["top==1.0"], "3.12") == [
        "low>=2（来自 top-1.0-py3-none-any.whl）", "plat（来自 top-1.0-py3-none-any.whl）",
        "old（来自 top-1.0-py3-none-any.whl）"]
    # an abi3 wheel for 3.12 serves 3.13 too, but not 3.11
    assert "speed（来自 opt-1.0-py3-none-any.whl）" in wheels.unmet(folder, ["top==1.0"], "3.11")
    assert "speed（来自 opt-1.0-py3-none-any.whl）" not in wheels.unmet(folder, ["top==1.0"], "3.13")


def test_the_target_environment_is_windows_whatever_runs_the_command():
    env = wheels.target_environment("3.13")
    assert (env["sys_platform"], env["platform_system"], env["os_name"], env["python_version"]) == (
        "win32", "Windows", "nt", "3.13")


# ---- the real thing: evalbook and its dependencies from the package index ------------------------


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "绩效评价 安装包"
    result = subprocess.run([sys.executable, "-m", "evalbook.cli", "bundle", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def test_the_bundle_holds_every_wheel_for_each_python(bundle):
    out, stdout = bundle
    folder = out / scripts.WHEELS
    found = names(folder)
    assert f"evalbook-{__version__}-py3-none-any.whl" in found
    for python in wheels.PYTHON_VERSIONS:
        cp = "cp" + python.replace(".", "")
        assert wheels.unmet(folder, [f"evalbook=={__version__}"], python) == [], python
        # the compiled ones, each for this CPython and 64-bit Windows; pywin32 only because the
        # walk judged xlwings' marker for Windows
        for name in ("numpy", "pandas", "pywin32", "xlwings"):
            assert any(n.startswith(f"{name}-") and n.endswith(f"-{cp}-{cp}-win_amd64.whl") for n in found), (name, cp)
    assert any(n.startswith("colorama-") for n in found)  # tqdm's, on Windows only
    assert not any("linux" in n or "macosx" in n for n in found)
    assert f"{len(found)} 个 wheel" in stdout
    assert {p.name for p in out.iterdir()} == {scripts.WHEELS, scripts.INSTALL_BAT, scripts.UNINSTALL_BAT, scripts.GUIDE}


@pytest.mark.parametrize("python", wheels.PYTHON_VERSIONS)
def test_pip_installs_from_the_bundle_alone(bundle, tmp_path, python):
    # needs the pip .ci/run upgrades to: pip 23.2 (measured) judges Requires-Python of a
    # --dry-run --target install by the running Python instead of --python-version
    out, _ = bundle
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-", "--no-index",
         "--find-links", str(out / scripts.WHEELS), "--platform", "win_amd64", "--python-version", python,
         "--implementation", "cp", "--only-binary=:all:", "--target", str(tmp_path / "t"), "evalbook"],
        capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    chosen = {item["metadata"]["name"].lower() for item in json.loads(done.stdout)["install"]}
    assert {"evalbook", "xlwings", "openpyxl", "pandas", "numpy", "defusedxml", "tqdm"} <= chosen


def test_the_scripts_in_the_bundle_are_the_generated_ones(bundle):
    out, _ = bundle
    assert (out / scripts.INSTALL_BAT).read_bytes() == scripts.encode_batch(scripts.install_bat(__version__))
    assert (out / scripts.UNINSTALL_BAT).read_bytes() == scripts.encode_batch(scripts.uninstall_bat(__version__))
    guide = (out / scripts.GUIDE).read_bytes()
    assert guide.startswith(b"\xef\xbb\xbf") and "受信任位置" in guide.decode("utf-8-sig")


# ---- refusals: one Chinese line, exit code 2 ------------------------------------------------------


def test_no_network_is_one_chinese_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    for name in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    code = main(["bundle", str(tmp_path / "out"), "--index-url", "http://127.0.0.1:9/simple"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("evalbook: 生成 evalbook 的 wheel失败") and "请检查网络连接或代理设置" in err[0]


def test_no_pip_is_one_chinese_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(wheels, "PIP_MODULE", "evalbook_test_no_such_pip")
    code = main(["bundle", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "没有安装 pip" in err[0] and "ensurepip" in err[0], err


def test_a_folder_with_something_in_it_needs_force(tmp_path, capsys):
    (tmp_path / "别的文件.txt").write_text("x", encoding="utf-8")
    assert main(["bundle", str(tmp_path)]) == 2
    assert "不是空的" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["别的文件.txt"]


def test_a_source_that_is_not_evalbook_is_refused(tmp_path, capsys):
    assert main(["bundle", str(tmp_path / "out"), "--source", str(tmp_path)]) == 2
    assert "不是evalbook 的源代码目录" in capsys.readouterr().err
