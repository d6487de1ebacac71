"""Life-circle coverage, gaps, compliance and service areas from ``cell_access``."""

from grid.coverage.compliance import (LEVEL_CIRCLES, community_compliance, community_standard_checks,
                                     compliance_overview)
from grid.coverage.coverage import ALL_REQUIRED, GROUPS, cell_coverage, circle_thresholds, coverage_summary
from grid.coverage.gaps import gap_areas, gap_cells, service_areas

__all__ = ["ALL_REQUIRED", "GROUPS", "LEVEL_CIRCLES", "cell_coverage", "circle_thresholds", "community_compliance",
           "community_standard_checks",
           "compliance_overview", "coverage_summary", "gap_areas", "gap_cells", "service_areas"]
