"""Routing: path templates, the route contract handler kinds build to, ``Router`` and
registration, and admission (the Origin check and the answers to refused handshakes).
"""
