"""Bootstrap: the composition root.

What belongs here: settings, logging set-up, agent-file loading, the dependency-injector
containers, the app factory and the CLI. It is the only package that imports both the core
(``domain``) and the adapters.
"""
