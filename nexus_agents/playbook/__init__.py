"""Python steps of the shipped playbook graphs (``call:`` steps and code routes).

One module per graph or concept: ``improvement`` (the continuous improvement loop and the
feature cycle), ``incidents`` (incident response), ``preconditions`` (the Phase 6 entry
checklist), ``cadence`` (the generic one-agent cadence run) and ``langgraph_entry``
(every shipped graph for LangGraph's own tooling). Each call step takes
``(state, ctx: StepContext)`` and returns a state update; numbers come from code.
"""
