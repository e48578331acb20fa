"""Root conftest: the shared fixtures live once, in recaudo_common.testing."""

pytest_plugins = ["recaudo_common.testing", "recaudo_common.testing_consumers", "recaudo_common.testing_kinds"]
