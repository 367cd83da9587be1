"""pytest fixtures: one coffre per test session, reset before each test."""

import pytest

import coffre_harness


@pytest.fixture(scope="session")
def coffre_server():
    server = coffre_harness.start()
    yield server
    server.stop()


@pytest.fixture
def coffre(coffre_server):
    coffre_server.reset()
    return coffre_server
