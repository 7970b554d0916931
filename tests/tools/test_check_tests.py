"""The check that every test can fail: it finds planted faults (a test asserting nothing, an early
return in a parametrized case), follows asserting helpers through any depth, and passes on the
repository's own tests."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import check_tests  # noqa: E402

PLANTED = '''
import pytest
import torch

def helper(x):
    assert x

def wrapper(x):
    helper(x)

def test_nothing():
    x = 1

def test_through_two_helpers():
    wrapper(1)

@pytest.mark.parametrize("k", [1, 2])
def test_returns_early(k):
    if k == 2:
        return
    assert k

@pytest.mark.parametrize("k", [1, 2])
def test_skips_early(k):
    if k == 2:
        pytest.skip("not this one")
    assert k

@pytest.mark.parametrize("k", [1, 2])
def test_nested_return_is_fine(k):
    def inner():
        return
    inner()
    assert k

def test_raises():
    with pytest.raises(ValueError):
        int("x")

def test_library_assert():
    torch.testing.assert_close(torch.ones(1), torch.ones(1))
'''


def test_finds_planted_faults_and_accepts_real_assertions(tmp_path: Path) -> None:
    (tmp_path / "test_planted.py").write_text(textwrap.dedent(PLANTED))
    findings = check_tests.check([tmp_path])
    named = sorted(f.split(": ")[1].split(" ")[0] for f in findings)
    assert named == ["test_nothing", "test_returns_early", "test_skips_early"], findings
    assert check_tests.main([str(tmp_path)]) == 1


def test_finds_test_modules_sharing_a_name(tmp_path: Path) -> None:
    for folder in ("a", "b", "pkg"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "test_cli.py").write_text("def test_x():\n    assert True\n")
    (tmp_path / "pkg" / "__init__.py").write_text("")  # a package's module is imported as pkg.test_cli
    findings = check_tests.check([tmp_path])
    assert len(findings) == 1 and "test_cli.py" in findings[0] and "rename one" in findings[0], findings
    (tmp_path / "b" / "test_cli.py").rename(tmp_path / "b" / "test_b_cli.py")
    assert check_tests.check([tmp_path]) == []


def test_the_repository_tests_can_fail() -> None:
    findings = check_tests.check(check_tests.test_roots())
    assert findings == []
    assert len(list(check_tests.python_files(check_tests.test_roots()))) > 50
