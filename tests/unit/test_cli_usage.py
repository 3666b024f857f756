"""Bad input: exit 2 and one line on stderr, before any DNS is asked (sockets are off here)."""

import pytest

from senderwatch.cli import main


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["check", "300.1.2.3"], "not a valid IPv4 or IPv6 address"),
        (["check", "192.0.2.0/24"], "is a network"),
        (["check", "mail.example.com"], "is a hostname"),
        (["check", "192.0.2.1", "--nameserver", "dns.example"], "invalid nameserver"),
        (["check", "192.0.2.1", "--nameserver", "127.0.0.1:0"], "port must be"),
        (["check", "192.0.2.1", "--nameserver", "[::1]x"], "invalid nameserver"),
        (["check", "192.0.2.1", "--sender", "not a domain"], "invalid sender"),
        (["check", "192.0.2.1", "--helo=-bad-"], "invalid HELO"),
        (["check", "192.0.2.1", "--zone", "no spaces.org"], "invalid DNSBL zone"),
        (["check", "192.0.2.1", "--timeout", "0"], "invalid --timeout"),
        (["check", "192.0.2.1", "--timeout", "soon"], "invalid float value"),
        (["check", "192.0.2.1", "--format", "xml"], "invalid choice"),
        (["check"], "required"),
        ([], "required"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, says, capsys):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("senderwatch: error:")
    assert says in err
