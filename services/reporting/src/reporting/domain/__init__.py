"""Pure rules of reporting: KPI definitions (docs/kpis.md)."""
