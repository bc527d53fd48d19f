"""AWS region names, checked against the regions botocore itself knows (no network).

A plausible but nonexistent region (``us-east-9``, ``us-moon-1``) would otherwise pass a shape
check, start the server, and fail every request with a connection error that never mentions
the region. botocore ships AWS's endpoint data (``botocore/data/endpoints.json``): the list of
regions of every partition (aws, aws-cn, aws-us-gov, ...), the same data boto3 resolves
endpoints from.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

__all__ = ["check_region", "known_regions"]


@lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region in botocore's endpoint data; empty when botocore is not installed.

    The file is read without importing botocore (half a second of a Bedrock config's startup,
    before ``/health`` answers); ``botocore.loaders`` would read the same file.
    """
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    endpoints = Path(next(iter(spec.submodule_search_locations))) / "data" / "endpoints.json"
    try:
        data = json.loads(endpoints.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    return frozenset(region for partition in data.get("partitions", []) for region in partition.get("regions", {}))


def check_region(region: str) -> str:
    """``region`` if AWS has it, else ValueError with a did-you-mean (one line)."""
    regions = known_regions()
    if not regions or region in regions:  # without botocore nothing can reach AWS anyway
        return region
    guess = difflib.get_close_matches(region.strip().lower(), sorted(regions), n=1, cutoff=0.6)
    hint = f"did you mean '{guess[0]}'?" if guess else "e.g. us-east-1, us-west-2, eu-west-1"
    raise ValueError(
        f"'{region}' is not an AWS region; {hint} (checked against the {len(regions)} regions of botocore "
        f"{version('botocore')}; a region newer than that needs `pip install -U botocore`)"
    )
