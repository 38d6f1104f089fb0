"""The four compiled modules; everything else about the package is in pyproject.toml.

Built at install (gcc and the Python headers; Cython comes from the build requirements):
``detectors/_scan_core.pyx``, the scanner's hot path (``engine.py`` keeps the Python reference it is tested
against), ``detectors/validators/_checks.pyx``, the MOD 11-2 and Luhn checks (``cn_ric.is_valid_py`` and
``luhn.checksum_py`` are their references), ``detectors/_greedy_ner.pyx``, the greedy decoder of the NER runtime
(``detectors/ner_fast.py``), and ``detectors/_hs.pyx``, Hyperscan's C API for the core (libhs and its headers:
Debian libhyperscan-dev, which ``deploy/build-deps.sh`` installs).
Declared here rather than under ``[tool.setuptools]`` in pyproject.toml, where ext-modules are still experimental.
Optional: without a C compiler the install still succeeds and piplwatch runs the Python reference paths (slower,
same results; a RuntimeWarning says so); without libhs the core scans through python-hyperscan (a RuntimeWarning
says so too). The tests require all four.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "detectors._scan_core",
            ["detectors/_scan_core.pyx"],
            include_dirs=["detectors"],  # _sha256.h
            depends=["detectors/_sha256.h"],
            extra_compile_args=["-O3"],
            optional=True,
        ),
        Extension(
            "detectors.validators._checks",
            ["detectors/validators/_checks.pyx"],
            extra_compile_args=["-O3"],
            optional=True,
        ),
        Extension("detectors._greedy_ner", ["detectors/_greedy_ner.pyx"], extra_compile_args=["-O3"], optional=True),
        # Hyperscan's C API for the core (needs libhs and its headers: Debian libhyperscan-dev); without it the core
        # scans through python-hyperscan
        Extension("detectors._hs", ["detectors/_hs.pyx"], libraries=["hs"], extra_compile_args=["-O3"], optional=True),
    ]
)
