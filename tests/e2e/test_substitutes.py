"""Our substitutes' own Go tests: the RandomPassword provider and the Python language host (README, toolchain).

They need the real Go toolchain, as the rest of the e2e tier does, so they live here: the fresh
machine's nested run leaves the tier out.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from wfdeploy.paths import PROJECT_ROOT


@pytest.mark.parametrize("package", ["tools/random-substitute", "tools/pulumi/pulumi-language-python"])
def test_substitute_go_tests_pass(package):
    assert shutil.which("go"), "go is not on PATH: the toolchain is built from Go modules"
    module = PROJECT_ROOT / package
    result = subprocess.run(["go", "test", "."], cwd=module, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
