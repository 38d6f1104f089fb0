"""The worker's web endpoint (metrics, health, live summary, dashboard) and the deployment-wide dashboard."""
