"""Pure rules of outreach: contact law by country, messages."""
