"""Care: obligations as rules: care tasks, due times, escalation, campaigns, assistance, unit scores."""
