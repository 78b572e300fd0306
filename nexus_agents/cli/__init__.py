"""The ``nexus`` command line: a thin layer over ``nexus_agents.api.Nexus``."""
