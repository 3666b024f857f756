"""Unit tests are pure: opening a network socket fails the test (an event loop's own pipe is fine)."""

import socket

import pytest


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch):
    real = socket.socket

    class NoNetwork(real):
        def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
            if fileno is None and family in (-1, socket.AF_INET, socket.AF_INET6):
                raise RuntimeError("unit tests must not open sockets; move this test to tests/integration")
            super().__init__(family, type, proto, fileno)

    def refuse(*args, **kwargs):
        raise RuntimeError("unit tests must not open sockets; move this test to tests/integration")

    monkeypatch.setattr(socket, "socket", NoNetwork)
    monkeypatch.setattr(socket, "create_connection", refuse)
