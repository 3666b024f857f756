import asyncio
import ipaddress

from local.world import IPV4, IPV6, story_world
from senderwatch.rdns import check_rdns
from senderwatch.resolver import Resolver


def rdns(server, *ips):
    async def run():
        async with Resolver([server.address], timeout=0.1, attempts=1) as resolver:
            return await check_rdns(resolver, [ipaddress.ip_address(ip) for ip in ips])

    return asyncio.run(run())


def test_forward_confirmed_for_both_families(dns_world):
    server = dns_world(story_world())
    v4, v6 = rdns(server, IPV4, IPV6)
    assert v4.ptr == ("mail.example.com",) and v4.forward_confirmed is True
    assert v6.ptr == ("mail.example.com",) and v6.forward_confirmed is True


def test_ptr_that_does_not_point_back_is_not_confirmed(dns_world):
    ip = ipaddress.ip_address("198.51.100.9")
    server = dns_world({ip.reverse_pointer: [{"PTR": "liar.example.net"}], "liar.example.net": [{"A": "192.0.2.1"}]})
    (result,) = rdns(server, ip)
    assert result.ptr == ("liar.example.net",) and result.forward_confirmed is False


def test_no_ptr_at_all(dns_world):
    (result,) = rdns(dns_world({}), "198.51.100.10")
    assert result.ptr == () and result.forward_confirmed is False and not result.error


def test_ptr_timeout_is_undecided_not_false(dns_world):
    ip = ipaddress.ip_address("198.51.100.11")
    (result,) = rdns(dns_world({ip.reverse_pointer: ["TIMEOUT"]}), ip)
    assert result.forward_confirmed is None and result.error == "timeout"
