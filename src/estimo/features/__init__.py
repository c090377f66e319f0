"""Features learned from training rows: location (spatial lag, distances, neighbourhoods)."""
