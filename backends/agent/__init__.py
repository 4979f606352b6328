"""The agent: Lagent's ReAct loop, InternLM2's own tool protocol, tools and their sandbox."""
