"""Pydantic models of the Istio objects the engine reads (ServiceEntry, VirtualService)."""
