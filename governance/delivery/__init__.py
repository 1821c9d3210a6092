"""Delivery tracking (DESIGN.md "Delivery tracking"): after approval, month by month.

schedule: the calendar of returns; monthly_returns: entering, correcting and assuring them;
lifecycle: start delivery, complete, stop; rating: the RAG; progress: the dashboard figures;
page_parts: the tasks, buttons and scheme-page block it adds (GovernanceConfig.ready()).
"""
