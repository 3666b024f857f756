"""Bad input: exit 2 and one line on stderr, before any DNS is asked (sockets are off here)."""

import argparse

import pytest

from senderwatch.commands import build_parser, main


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["check", "300.1.2.3"], "not a valid IPv4 or IPv6 address"),
        (["check", "192.0.2.0/23"], "a network target is a /24 or longer"),
        (["check", "2001:db8::/64"], "a network target is a /120 or longer"),
        (["check", "192.0.2.5/24"], "give 192.0.2.5 to watch that address, or 192.0.2.0/24"),
        (["check", "10.1.2.0/24"], "private address"),
        (["check", "mail"], "not an IPv4 or IPv6 address, a network (192.0.2.0/24) or a host name"),
        (["check", "-mail.example.com"], "unknown option or extra argument"),
        (["check", "mail..example.com"], "or a host name (mail.example.com)"),
        (["check", "192.0.2.1", "--nameserver", "dns.example"], "invalid nameserver"),
        (["check", "192.0.2.1", "--nameserver", "127.0.0.1:0"], "port must be"),
        (["check", "192.0.2.1", "--nameserver", "[::1]x"], "invalid nameserver"),
        (["check", "192.0.2.1", "--sender", "not a domain"], "invalid sender"),
        (["check", "192.0.2.1", "--helo=-bad-"], "invalid HELO"),
        (["check", "192.0.2.1", "--zone", "no spaces.org"], "invalid DNSBL zone"),
        (["check", "192.0.2.1", "--timeout", "0"], "invalid --timeout"),
        (["check", "192.0.2.1", "--timeout", "1e-9"], "expected seconds from 0.1 to 60"),
        (["check", "192.0.2.1", "--zone", ""], "--zone needs a list's zone"),
        (["check", "\udcff"], "argument 2 is not valid text (not UTF-8)"),
        (["check", "192.0.2.1", "--timeout", "soon"], "invalid float value"),
        (["check", "192.0.2.1", "--format", "xml"], "invalid choice"),
        (["check"], "give at least one address"),
        (
            ["check", "192.0.2.1", "--bogus"],
            "unknown option or extra argument '--bogus': see 'senderwatch check --help'",
        ),
        (["check", "192.168.1.10"], "private address"),
        (["check", "127.0.0.53"], "loopback address"),
        (["check", "169.254.1.1"], "link-local"),
        (["check", "fe80::1%eth0"], "zone index"),
        (["check", "224.0.0.1"], "multicast"),
        (["check", "255.255.255.255"], "broadcast"),
        (["check", "0.0.0.0"], "unspecified"),
        (["check", "::"], "unspecified"),
        (["check", "fd00::1"], "unique local"),
        (["check", "192.0.2.1", "--nameserver", "255.255.255.255"], "not the address of one server"),
        (["check", "192.0.2.1", "--nameserver", "[fe80::1]:53"], "needs its interface"),
        (["check", "192.0.2.1", "--nameserver", "[fe80::1%nosuch0]:53"], "no interface"),
        (["check", "192.0.2.1", "--sender", "a b@example.com"], "invalid sender"),
        (["check", "\x1b]0;owned\x07"], "not an IPv4 or IPv6 address, a network"),
        (["check", "192.0.2.1", "--zone", "-nosuch.example"], "nosuch.example is not one of the default lists"),
        (["check", "192.0.2.1", "--zone=--"], "--zone needs a value, not '--'"),
        (["check", "192.0.2.1", "--sender=--"], "--sender needs a value, not '--'"),
        (["check", "192.0.2.1", "--helo=--"], "--helo needs a value, not '--'"),
        (["check", "192.0.2.1", "--nameserver=--"], "--nameserver needs a value, not '--'"),
        (["targets", "add", "192.0.2.1", "--zone=--"], "--zone needs a value, not '--'"),
        (["mute", "192.0.2.1", "--zone=--"], "--zone needs a value, not '--'"),
        (["targets"], "say what to do"),
        (["status", "--stack", "a", "--table", "b"], "not allowed with argument"),
        (["status", "--table", "t", "--region", "mars"], "invalid --region"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, says, capsys):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("senderwatch: error:")
    assert says in err
    assert "\x1b" not in err and "\x07" not in err  # what was typed is echoed with its escapes visible


def test_no_arguments_print_the_usage(capsys):
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("usage: senderwatch") and "check" in err and "Exit status" in err


def test_every_option_and_argument_has_help():
    def actions(parser):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from actions(sub)
            elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                yield parser.prog, action

    missing = [(prog, action.dest) for prog, action in actions(build_parser()) if not action.help]
    assert missing == []


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("senderwatch ")
