"""How PostgreSQL should cost the platform's statements: the planner settings every server the platform starts or
deploys runs with (the embedded default, docker-compose's and the CloudNativePG cluster's)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# The platform's batch statements look up a few hundred keys of a large table, and its working set is meant to be
# in memory (docs/scaling.md sizes shared_buffers and RAM for it). At PostgreSQL's default random_page_cost of 4
# (a disk seek for each index page), the planner costs 500 index probes above a scan of a table of up to about
# 100,000 rows, and scans the table for every batch: outreach's planning read of a batch of 500 accounts took
# 10-54 ms at 30,000-100,000 accounts instead of 4 ms (#24). 1.1 is the usual value for SSDs and data in memory.
PLANNER_SETTINGS: Final[Mapping[str, str]] = MappingProxyType({"random_page_cost": "1.1"})
