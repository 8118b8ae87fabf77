"""Everything that acts in the glimpse environments: RAM, SB3 baselines, heuristics."""
