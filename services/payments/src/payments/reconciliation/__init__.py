"""Daily reconciliation per gateway account: what the gateway reports against what was applied here (#21)."""
