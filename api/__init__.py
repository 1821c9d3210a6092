"""The read-only API for Power BI and other tools (Django REST framework)."""
