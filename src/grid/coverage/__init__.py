"""Life-circle coverage, gaps, compliance, service areas and what-if changes from ``cell_access``."""

from grid.coverage.compliance import (LEVEL_CIRCLES, community_compliance, community_standard_checks,
                                     compliance_overview)
from grid.coverage.coverage import (ALL_REQUIRED, GROUPS, all_required_cells, cell_coverage, circle_thresholds,
                                    coverage_summary, required_categories, summarise_coverage)
from grid.coverage.gaps import coverage_to_gaps, gap_areas, gap_cells, service_areas
from grid.coverage.whatif import WhatIf, what_if_summary

__all__ = ["ALL_REQUIRED", "GROUPS", "LEVEL_CIRCLES", "WhatIf", "all_required_cells", "cell_coverage",
           "circle_thresholds", "community_compliance", "community_standard_checks", "compliance_overview",
           "coverage_summary", "coverage_to_gaps", "gap_areas", "gap_cells", "required_categories", "service_areas",
           "summarise_coverage",
           "what_if_summary"]
