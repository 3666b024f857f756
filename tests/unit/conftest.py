"""Unit tests are pure: any attempt to open a socket fails the test."""

import socket

import pytest


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("unit tests must not open sockets; move this test to tests/integration")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
