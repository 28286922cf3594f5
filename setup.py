"""The one packaging rule ``pyproject.toml`` cannot say: ``macros/`` (top level, the VBA source
of truth) ships inside the package as ``xlexec/macros/*.bas``. Everything else is in
``pyproject.toml``."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["xlexec", "xlexec.*"]), "xlexec.macros"],
    package_dir={"xlexec.macros": "macros"},
)
