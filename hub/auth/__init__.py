"""Who is calling: agency API tokens, operator tokens, and the callers they authenticate."""
