"""`aia chat`: a terminal conversation about a model's units (see agent.chat.repl)."""
