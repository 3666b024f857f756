"""Zones as people change them: the lists themselves, or the defaults with (+NAME) and without
(-NAME) some, in the Zones parameter, a target's zones and `targets add --zone`."""

import pytest

from senderwatch.commands import main
from senderwatch.config import Config, ConfigError
from senderwatch.dnssession import DnsInvocation
from senderwatch.errors import InvalidInput, InvalidTarget
from senderwatch.targets import Target
from senderwatch.zones import default_zones, deployment_zones, parse_zones, resolve_domain_zones, resolve_zones

DEFAULTS = [z.zone for z in default_zones()]
DOMAIN_DEFAULTS = ["dbl.spamhaus.org", "multi.surbl.org", "multi.uribl.com"]


def names(zones):
    return [z.zone for z in zones]


def test_the_defaults_without_spamcop_are_every_other_default_list_and_every_domain_list():
    assert "bl.spamcop.net" in DEFAULTS
    assert names(resolve_zones(["-bl.spamcop.net"])) == [z for z in DEFAULTS if z != "bl.spamcop.net"]
    assert names(resolve_domain_zones(["-bl.spamcop.net"])) == DOMAIN_DEFAULTS


def test_several_left_out_and_one_added_keep_the_defaults_order_and_add_at_the_end():
    zones = names(resolve_zones(["-bl.spamcop.net", "+Extra.Example.", "-dnsbl.justspam.org"]))
    assert zones == [z for z in DEFAULTS if z not in ("bl.spamcop.net", "dnsbl.justspam.org")] + ["extra.example"]
    assert names(resolve_domain_zones(["-dbl.spamhaus.org", "+bl.spamcop.net"])) == DOMAIN_DEFAULTS[1:]


def test_added_only_keeps_every_default_and_an_unknown_added_list_is_asked_with_rfc5782_defaults():
    zones = resolve_zones(["+bl.example.org"])
    assert names(zones) == [*DEFAULTS, "bl.example.org"]
    assert not zones[-1].known and zones[-1].families == (4, 6)


def test_named_lists_replace_the_defaults_and_leave_the_domain_lists_out_unless_named():
    assert names(resolve_zones(["zen.spamhaus.org"])) == ["zen.spamhaus.org"]
    assert resolve_domain_zones(["zen.spamhaus.org"]) == []
    assert names(resolve_domain_zones(["zen.spamhaus.org", "dbl.spamhaus.org"])) == ["dbl.spamhaus.org"]


def test_a_targets_changes_change_the_deployments_lists():
    checks = DnsInvocation(zones=("zen.spamhaus.org", "dnsbl.justspam.org"))
    target = Target.from_item({"ip": "192.0.2.25", "zones": ["-zen.spamhaus.org", "+bl.example.org"]})
    assert target.zones == ("+bl.example.org", "-zen.spamhaus.org")
    assert names(checks.zones_for(target)) == ["dnsbl.justspam.org", "bl.example.org"]
    deployment = DnsInvocation(zones=deployment_zones(["-bl.spamcop.net"]))
    alone = Target.from_item({"ip": "192.0.2.25", "zones": "-zen.spamhaus.org"})
    left = [z for z in DEFAULTS if z not in ("bl.spamcop.net", "zen.spamhaus.org")]
    assert names(deployment.zones_for(alone)) == left
    assert names(deployment.zones_for(Target("192.0.2.26"))) == [z for z in DEFAULTS if z != "bl.spamcop.net"]


def test_the_zones_parameter_is_kept_as_written_canonically():
    config = Config.from_env({"ZONES": " -BL.SpamCop.net.  +extra.example "})
    assert config.zones == ("+extra.example", "-bl.spamcop.net")
    assert Config.from_env({"ZONES": "zen.spamhaus.org dnsbl.justspam.org"}).zones == (
        "zen.spamhaus.org",
        "dnsbl.justspam.org",
    )


@pytest.mark.parametrize(
    ("words", "said"),
    [
        (["zen.spamhaus.org", "-bl.spamcop.net"], "name the lists to ask (they replace the defaults), or change"),
        (["+extra.example", "dnsbl.justspam.org"], "zones dnsbl.justspam.org and +extra.example: name the lists"),
        (["+bl.spamcop.net", "-bl.spamcop.net"], "bl.spamcop.net is both added (+bl.spamcop.net) and left out"),
        (["-"], "invalid DNSBL zone '-': expected a domain"),
        (["+"], "invalid DNSBL zone '+': expected a domain"),
        (["--bl.spamcop.net"], "invalid DNSBL zone '--bl.spamcop.net': a name's labels neither begin nor end"),
        (["+-x.example"], "invalid DNSBL zone '+-x.example'"),
        (["-bad zone.org"], "invalid DNSBL zone '-bad zone.org': only letters"),
        (["-192.0.2.1"], "that is an address"),
    ],
)
def test_bad_forms_are_one_line_errors_naming_what_was_written(words, said):
    with pytest.raises(InvalidInput) as caught:
        parse_zones(words)
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_the_zones_parameter_cannot_leave_out_a_list_it_does_not_ask():
    with pytest.raises(ConfigError, match=r"zone -bl\.spamcop\.nte: bl\.spamcop\.nte is not one of the default lists"):
        Config.from_env({"ZONES": "-bl.spamcop.nte"})
    with pytest.raises(ConfigError, match="name the lists to ask"):
        Config.from_env({"ZONES": "zen.spamhaus.org -bl.spamcop.net"})


@pytest.mark.parametrize(
    ("zones", "said"),
    [
        (["-bl.spamcop.nte"], "bl.spamcop.nte is not a list senderwatch knows, so there is nothing to leave out"),
        (["-dbl.spamhaus.org"], "dbl.spamhaus.org is a domain list: a target's zones are address lists"),
        (["+multi.surbl.org"], "multi.surbl.org is a domain list"),
        ([f"-{zone}" for zone in DEFAULTS], "leave out every default list: the target would never be checked"),
    ],
)
def test_a_targets_changes_are_refused_with_the_reason(zones, said):
    with pytest.raises(InvalidTarget) as caught:
        Target.from_item({"ip": "192.0.2.25", "zones": zones})
    assert said in str(caught.value)


def test_a_target_whose_changes_leave_no_list_for_its_family_is_refused():
    ipv6_defaults = [z.zone for z in default_zones() if 6 in z.families]
    with pytest.raises(InvalidTarget, match="rates IPv6 addresses"):
        Target.from_item({"ip": "2001:db8::25", "zones": [f"-{zone}" for zone in ipv6_defaults]})


def test_targets_add_and_import_take_the_same_forms():
    from senderwatch.commands.fleet import parse_settings

    assert parse_settings("192.0.2.25", {"zones": ["-bl.spamcop.net", "+extra.example"]}) == (
        "192.0.2.25",
        {"zones": ["+extra.example", "-bl.spamcop.net"]},
    )
    with pytest.raises(InvalidInput, match="not both"):
        parse_settings("192.0.2.25", {"zones": ["zen.spamhaus.org", "-bl.spamcop.net"]})


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["check", "192.0.2.1", "--zone", "zen.spamhaus.org", "--zone", "-bl.spamcop.net"], "not both"),
        (["check", "192.0.2.1", "--zone", "--bl.spamcop.net"], "argument --zone: expected one argument"),
        (["targets", "add", "192.0.2.1", "--zone", "-bl.spamcop.nte", "--table", "t"], "nothing to leave out"),
        (["targets", "add", "192.0.2.1", "--zone", "-dbl.spamhaus.org", "--table", "t"], "is a domain list"),
    ],
)
def test_a_zone_written_minus_name_reaches_the_command_as_a_zone(argv, says, capsys):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and says in err and err.count("\n") == 1
