"""One router per resource: valuations, models, health, metrics."""
