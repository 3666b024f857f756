import ipaddress

import pytest

from senderwatch.zones import catalogue, default_zones, domain_catalogue, resolve_zones

DEAD = [
    "dnsbl.sorbs.net",
    "spam.dnsbl.sorbs.net",
    "ix.dnsbl.manitu.net",
    "dnsbl.ahbl.org",
    "bl.spamcannibal.org",
    "dnsbl.njabl.org",
    "list.dsbl.org",
    "db.wpbl.info",  # closed 2024: its nameservers answer with dummy addresses
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


@pytest.mark.parametrize(
    "bad", ["localhost", "bad zone.org", "a..b", "x" * 64 + ".org", "bl.example.org/24", "127.0.0.1", "192.0.2.25"]
)
def test_malformed_zone_names_are_refused(bad):
    with pytest.raises(ValueError, match="invalid DNSBL zone"):
        resolve_zones([bad])


def test_every_list_says_how_to_get_off_it_with_its_sources():
    for zone in [*catalogue().values(), *domain_catalogue().values()]:
        removal = zone.removal()
        assert removal.url.startswith("http") and removal.steps and removal.source, zone.zone
        assert removal.expires or removal.steps, zone.zone


def test_justspam_removal_is_a_mail_from_the_listed_address_after_the_other_lists():
    justspam = catalogue()["dnsbl.justspam.org"].removal(["127.0.0.2"])
    delist = justspam.filled("192.0.2.25", ["bl.spamcop.net", "dnsbl.justspam.org"], "dnsbl.justspam.org")
    assert delist["from_listed_ip"] is True and delist["expires"] is None
    assert delist["clear_first"] == ["bl.spamcop.net"]
    assert "sendmail remove+192.0.2.25@db.justspam.org" in delist["command"]
    assert delist["command_from_address"].startswith("swaks --local-interface 192.0.2.25 --to remove+192.0.2.25@")
    assert any("about three hours" in step for step in delist["steps"])


def test_spamhaus_gives_each_sub_lists_own_procedure_sbl_first():
    zen = catalogue()["zen.spamhaus.org"]
    assert "ISP" in " ".join(zen.removal(["127.0.0.2", "127.0.0.4"]).steps)  # with SBL, SBL's procedure first
    assert zen.removal(["127.0.0.4"]).expires  # XBL expires by itself
    assert not zen.removal(["127.0.0.10"]).expires  # PBL is policy: it does not
    assert "SBL" in (zen.removal(["127.0.0.3"]).depends_note or "")


@pytest.mark.parametrize(
    "zone", ["bl.spamcop.net", "dnsbl-1.uceprotect.net", "ips.backscatterer.org", "psbl.surriel.com"]
)
def test_lists_that_expire_listings_by_themselves_say_so(zone):
    assert catalogue()[zone].removal().expires
