"""`evalbook bundle OUT_DIR`: an offline install folder for office PCs without the package index.

On a machine that reaches the index: evalbook's own wheel (`pip wheel --no-deps` of its source
checkout), the wheels of every dependency for 64-bit Windows and each CPython in
`wheels.PYTHON_VERSIONS` (checked complete with Windows' markers, see `wheels.py`), and
安装.bat / 卸载.bat / 安装说明.txt (`scripts.py`).  Any failure (no network, no pip) is one
Chinese line and exit code 2, from the command line's usual handler.
"""

from __future__ import annotations

import configparser
import shutil
import tempfile
from pathlib import Path

from evalbook.core.errors import EXIT_OK, EvalbookError
from evalbook.core.textsafe import terminal_safe
from evalbook.install import scripts, wheels

# what `pip wheel` needs of a checkout; copied aside so the build leaves no build/ or egg-info
# behind in the user's tree
SOURCE_FILES = ("setup.cfg", "setup.py", "pyproject.toml", "README.md", "MANIFEST.in", "LICENSE", "udfs.py")
SOURCE_PACKAGE = "evalbook"


def register(subparsers) -> None:
    bundle = subparsers.add_parser(
        "bundle", help="生成离线安装文件夹（64位Windows，Python 3.11–3.13），供不能上网的电脑安装",
        description="在能访问软件包索引的电脑上，下载 evalbook 及全部依赖的 Windows wheel，"
                    "并生成 安装.bat、卸载.bat 和 安装说明.txt；把整个文件夹复制到办公电脑上双击 安装.bat 即可。")
    bundle.add_argument("out_dir", metavar="输出文件夹", help="安装文件夹（不存在则新建；已有内容时需加 --force）")
    bundle.add_argument("--force", action="store_true", help="输出文件夹已有内容时仍写入（已下载的 wheel 会复用）")
    bundle.add_argument("--source", metavar="源代码目录", help="evalbook 源代码目录（含 setup.cfg；默认为本程序所在的源代码目录）")
    bundle.add_argument("--index-url", metavar="网址", help="软件包索引地址（如本地镜像；默认为 pip 的设置）")
    bundle.add_argument("--find-links", action="append", default=[], metavar="文件夹",
                        help="另外查找 wheel 的文件夹或网址（可多次给出）")
    bundle.add_argument("--no-index", action="store_true", help="不访问软件包索引，只用 --find-links 给出的位置")
    bundle.set_defaults(handler=cmd_bundle)


def find_source(given: str | None) -> Path:
    """The checkout evalbook is built from: `given`, or the folder above this package."""
    candidate = Path(given) if given else Path(__file__).resolve().parents[2]
    setup = candidate / "setup.cfg"
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(setup, encoding="utf-8")
    except (OSError, configparser.Error):
        pass
    if parser.get("metadata", "name", fallback=None) != "evalbook" or not (candidate / SOURCE_PACKAGE).is_dir():
        where = f"“{candidate}”不是" if given else "本程序不是从"
        tail = "evalbook 的源代码目录（含 setup.cfg）" if given else "源代码目录安装的"
        raise EvalbookError(f"{where}{tail}；请用 --source 指定 evalbook 的源代码目录")
    return candidate


def _copy_source(source: Path, into: Path) -> Path:
    tree = into / "source"
    tree.mkdir()
    for name in SOURCE_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, tree / name)
    shutil.copytree(source / SOURCE_PACKAGE, tree / SOURCE_PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return tree


def pip_options(args) -> list[str]:
    options = []
    if args.no_index:
        options.append("--no-index")
    if args.index_url:
        options += ["--index-url", args.index_url]
    for link in args.find_links:
        options += ["--find-links", link]
    return options


def make_bundle(out: Path, source: Path, options: list[str], say=print) -> list[Path]:
    """Fill `out` (wheels/ and the scripts); returns the wheels."""
    folder = out / scripts.WHEELS
    folder.mkdir(parents=True, exist_ok=True)
    say("正在生成 evalbook 的 wheel……")
    with tempfile.TemporaryDirectory(prefix="evalbook-bundle-") as scratch:
        own = wheels.build_own_wheel(_copy_source(source, Path(scratch)), folder, options)
    version = own.name.split("-")[1]
    roots = [f"evalbook=={version}"]
    for python in wheels.PYTHON_VERSIONS:
        say(f"正在下载 Python {python}（64位Windows）所需的 wheel……")
        wheels.fill(folder, roots, python, options)
    for python in wheels.PYTHON_VERSIONS:  # fill() stops only when complete; said once more, from the folder
        missing = wheels.unmet(folder, roots, python)
        if missing:
            raise EvalbookError(f"Python {python} 仍缺少：{'；'.join(missing)}")
    found = sorted(folder.glob("*.whl"))
    _write(out / scripts.INSTALL_BAT, scripts.encode_batch(scripts.install_bat(version)))
    _write(out / scripts.UNINSTALL_BAT, scripts.encode_batch(scripts.uninstall_bat(version)))
    _write(out / scripts.GUIDE, scripts.guide_text(version, len(found)).encode("utf-8-sig"))  # Notepad: BOM → UTF-8
    return found


def _write(path: Path, data: bytes) -> None:
    from evalbook.adapters.package import atomic_write_bytes

    atomic_write_bytes(path, data)


def cmd_bundle(args) -> int:
    out = Path(args.out_dir)
    if out.exists() and not out.is_dir():
        raise EvalbookError(f"“{out}”已存在且不是文件夹")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise EvalbookError(f"文件夹“{out}”不是空的；如需写入请加 --force（已下载的 wheel 会复用）")
    source = find_source(args.source)
    found = make_bundle(out, source, pip_options(args))
    size = sum(path.stat().st_size for path in found) / 1024 / 1024
    versions = "、".join(wheels.PYTHON_VERSIONS)
    print(f"已生成离线安装文件夹：{terminal_safe(out)}（{len(found)} 个 wheel，共 {size:.0f} MB，"
          f"64位Windows，Python {versions}）；复制到办公电脑后双击 {scripts.INSTALL_BAT}")
    return EXIT_OK
