"""Read API for the app, the CLI and notebooks: functions over a read-only connection that
return frames (or small dataclasses of frames), one module per concern.

- :mod:`~grid.queries.database`: loads, quarantine, sources, readiness of the analyses.
- :mod:`~grid.queries.options`: circles, profiles, categories, communities to choose from.
- :mod:`~grid.queries.coverage`: the coverage page's view of one circle and category.
- :mod:`~grid.queries.community`: one community's check against the standards.
- :mod:`~grid.queries.whatif`: a what-if change with the cells and facilities to draw.
- :mod:`~grid.queries.complaints`, :mod:`~grid.queries.complaint_analysis`,
  :mod:`~grid.queries.workload`: complaints, hotspots, rates and workload as a
  :class:`~grid.governance.access.Viewer` may see them (access rules apply here).
- :mod:`~grid.queries.users`: users, demo logins, the routing summary and unrouted queue.
"""

from grid.queries.community import CommunityReport, community_report
from grid.queries.coverage import CoverageView, community_boundaries, coverage_view
from grid.queries.database import (Readiness, access_summary, database_summary, has_synthetic_data, list_load_notes,
                                   list_loads, list_quarantine, list_sources, open_database, quarantine_reason_counts,
                                   readiness, table_counts)
from grid.queries.options import (category_names, complaint_vocabulary, level_names, list_circles, list_communities, list_facilities,
                                  list_profiles)
from grid.queries.users import demo_logins, list_users, routing_summary, unrouted_queue
from grid.queries.whatif import WhatIfView, whatif_view

__all__ = ["CommunityReport", "CoverageView", "Readiness", "WhatIfView", "access_summary", "category_names",
           "complaint_vocabulary",
           "community_boundaries", "community_report", "coverage_view", "database_summary", "has_synthetic_data",
           "level_names",
           "list_circles", "list_communities", "list_facilities", "list_load_notes", "list_loads", "list_profiles",
           "list_quarantine", "list_sources", "open_database", "quarantine_reason_counts", "readiness",
           "table_counts", "whatif_view", "demo_logins", "list_users", "routing_summary", "unrouted_queue"]
