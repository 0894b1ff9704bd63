"""A PEP 517 build backend in the standard library alone.

The package is pure Python (it loads libtownhall with ctypes), so a wheel
is a zip file of townhall/ plus three metadata files. Doing that here
instead of through setuptools means ``pip install bindings/python`` needs
nothing from the network: pip's build isolation would otherwise download
setuptools first, which fails on an offline machine (and Debian 12's pip
does not reuse python3-setuptools in an isolated build).

Hooks: build_wheel, build_sdist, build_editable (PEP 660, a .pth file),
and the optional get_requires_* / prepare_metadata_* ones.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "townhall"
TAG = "py3-none-any"


def _project() -> dict:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        raw = f.read()
    try:
        import tomllib  # Python 3.11+
        return tomllib.loads(raw.decode())["project"]
    except ImportError:
        pass
    # Older Pythons: the [project] table's simple "key = value" lines.
    project: dict = {}
    section = None
    for line in raw.decode().splitlines():
        m = re.match(r"^\[(.+)\]\s*$", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r'^(\w[\w-]*)\s*=\s*"(.*)"\s*$', line)
        if section == "project" and m:
            project[m.group(1)] = m.group(2)
    return project


def _metadata() -> str:
    p = _project()
    lines = ["Metadata-Version: 2.1", f"Name: {p['name']}",
             f"Version: {p['version']}", f"Summary: {p.get('description', '')}",
             f"Requires-Python: {p.get('requires-python', '>=3.8')}"]
    lic = p.get("license")
    if isinstance(lic, dict) and "text" in lic:
        lines.append(f"License: {lic['text']}")
    for c in p.get("classifiers", []) if isinstance(
            p.get("classifiers"), list) else []:
        lines.append(f"Classifier: {c}")
    readme = os.path.join(ROOT, "README.md")
    body = ""
    if os.path.exists(readme):
        lines.append("Description-Content-Type: text/markdown")
        with open(readme, encoding="utf-8") as f:
            body = f.read()
    return "\n".join(lines) + "\n\n" + body


def _names() -> tuple:
    p = _project()
    return p["name"], p["version"]


def _dist_info() -> str:
    name, version = _names()
    return f"{name}-{version}.dist-info"


def _package_files():
    """(path inside the wheel, path on disk) of every file of the package."""
    base = os.path.join(ROOT, PACKAGE)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            if fn.endswith((".pyc", ".pyo")):
                continue
            full = os.path.join(dirpath, fn)
            yield os.path.relpath(full, ROOT).replace(os.sep, "/"), full


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return f"{arcname},sha256={digest.rstrip(b'=').decode()},{len(data)}"


def _write_wheel(directory: str, files) -> str:
    name, version = _names()
    filename = f"{name}-{version}-{TAG}.whl"
    info = _dist_info()
    wheel_meta = ("Wheel-Version: 1.0\nGenerator: townhall_build\n"
                  f"Root-Is-Purelib: true\nTag: {TAG}\n")
    entries = list(files) + [
        (f"{info}/METADATA", _metadata().encode()),
        (f"{info}/WHEEL", wheel_meta.encode()),
        (f"{info}/top_level.txt", f"{PACKAGE}\n".encode()),
    ]
    record = [_record_line(a, d) for a, d in entries]
    record.append(f"{info}/RECORD,,")
    entries.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    stamp = time.gmtime(int(os.environ.get("SOURCE_DATE_EPOCH",
                                           "315532800")))[:6]
    path = os.path.join(directory, filename)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, data in entries:
            zi = zipfile.ZipInfo(arcname, stamp)
            zi.external_attr = 0o644 << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    return filename


# ---- PEP 517 hooks ------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = os.path.join(metadata_directory, _dist_info())
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    return _dist_info()


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None,
                metadata_directory=None):
    files = []
    for arcname, full in _package_files():
        with open(full, "rb") as f:
            files.append((arcname, f.read()))
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None,
                   metadata_directory=None):
    # The source directory on sys.path: edits take effect without a
    # reinstall.
    return _write_wheel(wheel_directory,
                        [(f"_{PACKAGE}_editable.pth", (ROOT + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    name, version = _names()
    base = f"{name}-{version}"
    filename = f"{base}.tar.gz"
    keep = ["pyproject.toml", "README.md", "build_backend/townhall_build.py"]
    keep += [os.path.relpath(full, ROOT) for _, full in _package_files()]
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, "tests")):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        keep += [os.path.relpath(os.path.join(dirpath, f), ROOT)
                 for f in sorted(filenames) if f.endswith(".py")]
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz",
                      format=tarfile.PAX_FORMAT) as tar:
        pkg_info = _metadata().encode()
        ti = tarfile.TarInfo(f"{base}/PKG-INFO")
        ti.size = len(pkg_info)
        ti.mode = 0o644
        tar.addfile(ti, io.BytesIO(pkg_info))
        for rel in keep:
            full = os.path.join(ROOT, rel)
            if os.path.exists(full):
                tar.add(full, arcname=f"{base}/{rel}", recursive=False)
    return filename
