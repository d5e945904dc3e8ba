"""DescribeRegions and DescribeAvailabilityZones.

The Regions are AWS's commercial ones (EC2 User Guide, "Regions and Zones"): those enabled by
default answer ``opt-in-not-required``; the opt-in Regions are listed only with ``AllRegions``
(as ``not-opted-in``), as EC2 lists them for an account that enabled none. A Region's zones are
``<region>a``, ``b``, ``c`` (six in us-east-1), with zone ids ``<short>-az<n>``.
"""

from __future__ import annotations

from typing import Any

from monban.protocol.errors import AwsError
from monban.services.ec2.common import OPERATIONS, dry_run, ec2_authorize, filters, matches
from monban.services.query import QueryCall, Result, register

DEFAULT_REGIONS = (
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
)
OPT_IN_REGIONS = (
    "af-south-1",
    "ap-east-1",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
)
_SHORT_WORDS = {"north": "n", "south": "s", "east": "e", "west": "w", "central": "c"}


def _region_info(name: str, opted: str) -> dict[str, str]:
    return {"regionName": name, "regionEndpoint": f"ec2.{name}.amazonaws.com", "optInStatus": opted}


@register(OPERATIONS, "DescribeRegions")
def describe_regions(call: QueryCall) -> Result:
    """ec2:DescribeRegions (resource ``*``): RegionName.N, AllRegions, filters endpoint,
    region-name and opt-in-status."""
    ec2_authorize(call, "ec2:DescribeRegions", "*")
    dry_run(call)
    regions = [_region_info(r, "opt-in-not-required") for r in DEFAULT_REGIONS]
    if call.params.boolean("AllRegions"):
        regions += [_region_info(r, "not-opted-in") for r in OPT_IN_REGIONS]
    names = call.params.indexed("RegionName")
    known = {r["regionName"] for r in regions} | set(OPT_IN_REGIONS)
    for name in names:
        if name not in known:
            raise AwsError("InvalidParameterValue", f"Invalid region: {name}")
    if names:
        regions = [r for r in regions if r["regionName"] in names]
    by_filter = {"endpoint": "regionEndpoint", "region-name": "regionName", "opt-in-status": "optInStatus"}
    for name, patterns in filters(call.params, by_filter.__contains__):
        regions = [r for r in regions if matches(patterns, [r[by_filter[name]]])]
    return {"regionInfo": sorted(regions, key=lambda r: r["regionName"])}


def zone_names(region: str) -> list[str]:
    letters = "abcdef" if region == "us-east-1" else "abc"
    return [region + letter for letter in letters]


def _short(region: str) -> str:
    """``use1`` for us-east-1, ``euc1`` for eu-central-1: the prefix of AWS's zone ids."""
    parts = region.split("-")
    middle = "".join(_SHORT_WORDS.get(p, p[:1]) for p in parts[1:-1])
    return f"{parts[0]}{middle}{parts[-1]}"


def _zone(region: str, name: str, index: int) -> dict[str, Any]:
    return {
        "zoneName": name,
        "zoneId": f"{_short(region)}-az{index + 1}",
        "zoneState": "available",
        "regionName": region,
        "groupName": region,
        "networkBorderGroup": region,
        "optInStatus": "opt-in-not-required",
        "zoneType": "availability-zone",
        "messageSet": [],
    }


@register(OPERATIONS, "DescribeAvailabilityZones")
def describe_availability_zones(call: QueryCall) -> Result:
    """ec2:DescribeAvailabilityZones (resource ``*``) for the Region of the request: ZoneName.N,
    ZoneId.N, filters zone-name, zone-id, state, region-name, zone-type."""
    ec2_authorize(call, "ec2:DescribeAvailabilityZones", "*")
    dry_run(call)
    region = call.info.region
    zones = [_zone(region, n, i) for i, n in enumerate(zone_names(region))]
    for member, field in (("ZoneName", "zoneName"), ("ZoneId", "zoneId")):
        wanted = call.params.indexed(member)
        unknown = [w for w in wanted if w not in {z[field] for z in zones}]
        if unknown:
            raise AwsError("InvalidParameterValue", f"The zone '{unknown[0]}' does not exist.")
        if wanted:
            zones = [z for z in zones if z[field] in wanted]
    fields = {
        "zone-name": "zoneName",
        "zone-id": "zoneId",
        "state": "zoneState",
        "region-name": "regionName",
        "zone-type": "zoneType",
        "group-name": "groupName",
    }
    for name, patterns in filters(call.params, fields.__contains__):
        zones = [z for z in zones if matches(patterns, [z[fields[name]]])]
    return {"availabilityZoneInfo": zones}
