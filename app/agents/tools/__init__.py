"""Tools agents call (web search)."""
