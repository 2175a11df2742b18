"""vmpooler: pools of ready virtual machines, handed out over HTTP."""

__version__ = "0.1.0"
