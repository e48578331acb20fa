"""Portfolio uploads as they arrive: received, checked at the door, queued; their record and their issues."""
