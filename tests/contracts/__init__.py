"""Contract tests shared by every backend of a port."""

import pytest

pytest.register_assert_rewrite("tests.contracts.store_contract")
