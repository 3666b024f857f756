"""Which targets watch an address (pure): what `targets add` says and what the scheduler hands on."""

from senderwatch.overlaps import Watchers, handed, watched_twice, watching
from senderwatch.scheduler import plan_messages
from senderwatch.targets import parse_target

HOST = {"ip": "mail.example.com", "label": "mx", "findings": {"addresses": {"192.0.2.25": {}, "2001:db8::25": {}}}}
DIRECT = {"ip": "192.0.2.25", "label": "relay"}
NETWORK = {"ip": "192.0.2.0/24", "label": "office"}
INNER = {"ip": "192.0.2.16/28"}


def test_an_address_is_watched_by_itself_its_host_and_each_network_holding_it():
    index = Watchers.of([HOST, DIRECT, NETWORK, INNER, {"ip": "not a target"}])
    address = parse_target("192.0.2.25").value
    every = [("mail.example.com", "mx"), ("192.0.2.25", "relay"), ("192.0.2.0/24", "office"), ("192.0.2.16/28", "")]
    assert index.of_address(address) == every
    assert index.others("192.0.2.25", [address]) == {"192.0.2.25": [w for w in every if w[0] != "192.0.2.25"]}


def test_a_network_inside_another_is_one_entry_not_one_per_address():
    index = Watchers.of([NETWORK, INNER])
    inner = parse_target("192.0.2.16/28")
    assert handed(index.others(inner.key, inner.addresses())) == [["192.0.2.0/24", "office", []]]
    assert watching([["192.0.2.0/24", "office", []]], "192.0.2.17") == (("192.0.2.0/24", "office"),)
    assert watching([["192.0.2.0/24", "office", []]], "198.51.100.1") == ()
    assert watching([["x"], "junk", ["a", "b", 3]], "192.0.2.17") == ()  # not ours: not read


def test_the_note_names_the_other_target_and_how_many_addresses_it_shares():
    others = {f"192.0.2.{n}": [("mail.example.com", "mx")] for n in (16, 17, 18, 19)}
    assert watched_twice("192.0.2.16/28", others) == [
        "4 addresses of 192.0.2.16/28 (192.0.2.16, 192.0.2.17, 192.0.2.18 +1 more) are watched through "
        "mail.example.com (mx) too: alerts about them name both"
    ]


def test_the_daily_plan_hands_each_target_the_others_and_a_partial_plan_says_nothing_of_them():
    (message,) = plan_messages([HOST, DIRECT, {"ip": "198.51.100.7"}], 25, whole=True).messages
    also = {target["ip"]: target["also"] for target in message["targets"]}
    assert also == {
        "mail.example.com": [["192.0.2.25", "relay", ["192.0.2.25"]]],
        "192.0.2.25": [["mail.example.com", "mx", ["192.0.2.25"]]],
        "198.51.100.7": [],
    }
    (partial,) = plan_messages([HOST, DIRECT], 25).messages  # new targets, check-now: not the whole table
    assert all("also" not in target for target in partial["targets"])
