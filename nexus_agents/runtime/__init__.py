"""The agent runtime: an agent step = facts from tools + one model call -> a validated artifact."""
