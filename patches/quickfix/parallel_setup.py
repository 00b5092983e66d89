"""fixgw's wrapper around quickfix's setup.py: compile the extension's sources in parallel, longest first.

setuptools builds the sources of one extension sequentially; quickfix has one extension of ~100 C++ files plus a
SWIG wrapper that alone takes minutes. Copied over setup.py by scripts/build-quickfix-wheel (the original is
kept as setup_quickfix.py and run unchanged)."""

import os
import runpy
from concurrent.futures import ThreadPoolExecutor

import setuptools  # noqa: F401  (makes distutils setuptools' own copy)
from distutils.ccompiler import CCompiler


def _parallel_compile(self, sources, output_dir=None, macros=None, include_dirs=None, debug=0,
                      extra_preargs=None, extra_postargs=None, depends=None):
    macros, objects, extra_postargs, pp_opts, build = self._setup_compile(
        output_dir, macros, include_dirs, sources, depends, extra_postargs)
    cc_args = self._get_cc_args(pp_opts, debug, extra_preargs)

    def compile_one(obj):
        src, ext = build[obj]
        self._compile(obj, src, ext, cc_args, extra_postargs, pp_opts)

    pending = sorted((obj for obj in objects if obj in build), key=lambda obj: -os.path.getsize(build[obj][0]))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(compile_one, pending))  # re-raises a failed compile
    return objects


CCompiler.compile = _parallel_compile
runpy.run_path("setup_quickfix.py", run_name="__main__")
