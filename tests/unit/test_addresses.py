import ipaddress

import pytest

from senderwatch.addresses import parse_address, reverse_name


@pytest.mark.parametrize("text", ["192.0.2.25", " 192.0.2.25 ", "2001:db8::25", "[2001:db8::25]"])
def test_accepts_one_address_of_either_family(text):
    assert parse_address(text) == ipaddress.ip_address(text.strip().strip("[]"))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("192.0.2.0/24", "is a network"),
        ("2001:db8::/32", "is a network"),
        ("mail.example.com", "is a hostname"),
        ("192.0.2.256", "not a valid"),
        ("1.2.3", "not a valid"),
        ("", "empty address"),
        ("2001:db8::zz", "not a valid"),
    ],
)
def test_rejects_what_is_not_one_address_with_a_reason(text, says):
    with pytest.raises(ValueError, match=says):
        parse_address(text)


def test_ipv4_query_label_reverses_the_octets():
    assert reverse_name(ipaddress.ip_address("192.0.2.25")) == "25.2.0.192"


def test_ipv6_query_label_is_all_32_nibbles_reversed():
    label = reverse_name(ipaddress.ip_address("2001:db8::25"))
    assert label == "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
    assert len(label.split(".")) == 32


def test_rfc5782_ipv6_test_entry_label():
    # RFC 5782 section 5: ::FFFF:7F00:2 is the IPv6 "listed" test entry.
    label = reverse_name(ipaddress.ip_address("::ffff:7f00:2"))
    assert label.startswith("2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0")
