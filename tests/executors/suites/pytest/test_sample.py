"""A small pytest suite with one test of each outcome pytest reports."""
import os

import pytest


@pytest.fixture
def broken_fixture():
    raise RuntimeError("fixture set-up failed")


@pytest.mark.smoke
def test_addition():
    assert 1 + 1 == 2


@pytest.mark.smoke
def test_kubeconfig_is_private():
    path = os.environ["KUBECONFIG"]
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_fails_on_purpose():
    print("captured output before the failure")
    assert "left" == "right"


def test_errors_in_fixture(broken_fixture):
    pass


@pytest.mark.skip(reason="not relevant here")
def test_skipped():
    pass


@pytest.mark.xfail(reason="known bug", strict=True)
def test_expected_failure():
    assert False


@pytest.mark.parametrize("n", [1, 2, 3])
def test_parametrized(n):
    assert n > 0
