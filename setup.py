"""Builds the `handwire` Python package with CMake for pip (pyproject.toml).

The extension needs the project's C++ libraries, so this runs the CMake
build (in $HANDWIRE_BUILD_DIR, default build/, configured like
scripts/build.sh if it is not yet) for the package's targets only, then
copies the assembled build/python/handwire/ into the wheel. No download:
use `pip install --no-build-isolation` (docs/python.md).
"""
import os
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Distribution, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class CMakeBuild(build_ext):
    """build_ext that builds the extension with CMake and copies the whole
    package (its Python files too) into the wheel."""

    def run(self):
        build = os.path.abspath(os.environ.get("HANDWIRE_BUILD_DIR", os.path.join(ROOT, "build")))
        if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
            subprocess.check_call(["cmake", "-S", ROOT, "-B", build, "-G", "Ninja",
                                   "-DCMAKE_BUILD_TYPE=Release",
                                   f"-DPython3_EXECUTABLE={sys.executable}"])
        subprocess.check_call(["cmake", "--build", build, "--target", "_handwire",
                               "handwire_python_files"])
        package = os.path.join(build, "python", "handwire")
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        if not os.path.exists(os.path.join(package, "_handwire" + suffix)):
            sys.exit(f"setup.py: {build} builds the module for another python than "
                     f"{sys.executable} (no _handwire{suffix}); configure it with "
                     f"-DPython3_EXECUTABLE={sys.executable} or set HANDWIRE_BUILD_DIR")
        target = os.path.join(self.build_lib, "handwire")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(package, target)


class BinaryDistribution(Distribution):
    """The wheel holds a compiled extension: platform-specific."""

    def has_ext_modules(self):
        return True


# setuptools' own scratch files go under build/ too, beside CMake's tree.
SCRATCH = os.path.join("build", "setuptools")
os.makedirs(SCRATCH, exist_ok=True)
setup(packages=[], cmdclass={"build_ext": CMakeBuild}, distclass=BinaryDistribution,
      options={"build": {"build_base": SCRATCH}, "egg_info": {"egg_base": SCRATCH}})
