"""Python steps of the shipped playbook graphs (``call:`` steps and code routes).

One module per graph or concept: ``improvement`` (the continuous improvement loop and the
feature cycle), ``incidents`` (incident response), ``preconditions`` (the Phase 6 entry
checklist) and ``cadence`` (the generic one-agent cadence run). Each call step takes
``(state, ctx: StepContext)`` and returns a state update; numbers come from code.
(LangGraph's own tooling loads the shipped graphs through ``nexus_agents.langgraph_entry``.)
"""
