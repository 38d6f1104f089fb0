"""The version is written once (pyproject.toml); everything that shows one reads it from the package metadata."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _pyproject_version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])


def test_version_one_source_for_the_packages_the_cli_and_the_alerts(judge_env) -> None:
    import detectors
    import stream

    v = _pyproject_version()
    assert detectors.__version__ == stream.__version__ == v
    r = subprocess.run([sys.executable, "-m", "stream", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert r.stdout.strip() == f"piplwatch {v}"
    out = judge_env.transfer([{"user_id": "u1", "手机": "13800001111"}], rid="r-nobody")
    assert out.alerts and {a["metadata"]["product"]["version"] for a in out.alerts} == {v}


def test_version_the_kubernetes_image_tag_is_the_package_version() -> None:
    v = _pyproject_version()
    for path in (ROOT / "deploy" / "k8s").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            spec = (doc or {}).get("spec", {}).get("template", {}).get("spec", {})
            for c in spec.get("containers", []) + spec.get("initContainers", []):
                assert c["image"].rsplit(":", 1)[1] == v, (path.name, c["image"])
