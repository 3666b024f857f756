import ipaddress

import pytest

from senderwatch.zones import catalogue, default_zones, resolve_zones

DEAD = [
    "dnsbl.sorbs.net",
    "spam.dnsbl.sorbs.net",
    "ix.dnsbl.manitu.net",
    "dnsbl.ahbl.org",
    "bl.spamcannibal.org",
    "dnsbl.njabl.org",
    "list.dsbl.org",
]


def test_about_twenty_live_lists_including_the_story_ones():
    zones = catalogue()
    assert 18 <= len(zones) <= 30
    assert "dnsbl.justspam.org" in zones and "zen.spamhaus.org" in zones


@pytest.mark.parametrize("zone", DEAD)
def test_dead_lists_are_left_out(zone):
    assert zone not in catalogue()
    assert not any("sorbs" in name for name in catalogue())


def test_every_entry_is_documented_and_actionable():
    for zone in catalogue().values():
        assert zone.families and set(zone.families) <= {4, 6}, zone.zone
        assert zone.delist_url.startswith("http"), zone.zone
        assert zone.source and zone.terms, zone.zone
        for code in zone.codes:
            assert ipaddress.ip_address(code) in ipaddress.ip_network("127.0.0.0/8"), (zone.zone, code)
            assert not zone.is_blocked(ipaddress.ip_address(code)), (zone.zone, code)


def test_spamhaus_uses_dqs_when_a_key_is_configured():
    zen = catalogue()["zen.spamhaus.org"]
    assert zen.query_suffix() == "zen.spamhaus.org"
    assert zen.query_suffix("abc123") == "abc123.zen.dq.spamhaus.net"
    assert catalogue()["dnsbl.justspam.org"].query_suffix("abc123") == "dnsbl.justspam.org"


def test_default_set_leaves_out_lists_that_need_registration_or_list_whole_networks():
    names = {z.zone for z in default_zones()}
    assert "dnsbl.justspam.org" in names
    assert {"b.barracudacentral.org", "dnsbl-3.uceprotect.net"}.isdisjoint(names)


def test_zones_not_in_the_catalogue_are_asked_for_both_families_with_rfc5782_tests():
    (zone,) = resolve_zones(["BL.Example.org."])
    assert zone.zone == "bl.example.org" and not zone.known
    assert zone.families == (4, 6)
    assert zone.test_listed == {4: "127.0.0.2", 6: "::ffff:7f00:2"}
    assert zone.test_clean == {4: "127.0.0.1", 6: "::ffff:7f00:1"}


def test_asking_for_a_catalogued_zone_gets_its_entry_once():
    zones = resolve_zones(["dnsbl.justspam.org", "DNSBL.JUSTSPAM.ORG"])
    assert [z.zone for z in zones] == ["dnsbl.justspam.org"] and zones[0].families == (4,)


@pytest.mark.parametrize("bad", ["localhost", "bad zone.org", "a..b", "x" * 64 + ".org", "bl.example.org/24"])
def test_malformed_zone_names_are_refused(bad):
    with pytest.raises(ValueError, match="invalid DNSBL zone"):
        resolve_zones([bad])
