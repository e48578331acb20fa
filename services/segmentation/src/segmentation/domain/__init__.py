"""Pure rules of segmentation: buckets, aging, scorecard, cost to collect, treatment."""
