"""The journey's own record of which journeys it opened, and who reopened one and why."""
