"""Reliability probes (issue 19): each measures one figure from outside a real server,
prints it in one line with its goal, and exits non-zero when the goal is missed."""
