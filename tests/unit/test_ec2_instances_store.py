"""The EC2 instance records: ids, ordinals in creation order, profile associations, states."""

from __future__ import annotations

import re

import pytest

from monban.store.db import Database
from monban.store.instances import (
    NewInstance,
    create_instance,
    find_by_association,
    get_instance,
    list_instances,
    set_profile,
    set_state,
    set_tags,
)

ACCOUNT = "123456789012"


def test_instances_number_in_creation_order_with_ec2_ids(db: Database) -> None:
    with db.transaction() as session:
        tagged = NewInstance(ACCOUNT, "us-east-1", "us-east-1a", tags=(("Name", "a"),))
        first = create_instance(session, tagged)
        second = create_instance(session, NewInstance(ACCOUNT, "us-east-1", "us-east-1b", profile_id="AIPAX"))
    assert (first.ordinal, second.ordinal) == (0, 1)
    assert re.fullmatch(r"i-[0-9a-f]{17}", first.instance_id)
    assert re.fullmatch(r"r-[0-9a-f]{17}", first.reservation_id)
    assert first.reservation_id != second.reservation_id
    assert first.private_ip != second.private_ip
    assert first.association_id is None and first.state == "running"
    assert re.fullmatch(r"iip-assoc-[0-9a-f]{17}", second.association_id or "")
    assert first.arn == f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{first.instance_id}"
    with db.transaction() as session:
        assert [r.instance_id for r in list_instances(session)] == [first.instance_id, second.instance_id]
        assert get_instance(session, first.instance_id) == first
        assert list_instances(session, "000000000000") == []


def test_profile_state_and_tags_change_in_place(db: Database) -> None:
    with db.transaction() as session:
        made = create_instance(session, NewInstance(ACCOUNT, "us-east-1", "us-east-1a"))
        with_profile = set_profile(session, made.instance_id, "AIPAY")
        replaced = set_profile(session, made.instance_id, "AIPAZ")
        assert with_profile.association_id != replaced.association_id
        assert find_by_association(session, replaced.association_id or "") == replaced
        gone = set_profile(session, made.instance_id, None)
        assert (gone.profile_id, gone.association_id, gone.association_state) == (None, None, None)
        assert set_state(session, made.instance_id, "terminated").state == "terminated"
        assert set_tags(session, made.instance_id, [("k", "v")]).tags == (("k", "v"),)
        with pytest.raises(ValueError):
            set_state(session, made.instance_id, "exploded")
        with pytest.raises(LookupError):
            set_tags(session, "i-00000000000000000", [])
        with pytest.raises(ValueError):
            create_instance(session, NewInstance(ACCOUNT, "us-east-1", "us-east-1a", http_tokens="maybe"))
