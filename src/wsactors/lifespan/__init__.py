"""The ASGI lifespan: the App's hooks and contexts, and the driver that runs an App's
lifespan from the outside (the native engine and the test client).
"""
