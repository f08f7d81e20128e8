"""The JSON codec: receive and send modes, the App's cattrs converter and its hooks, DTOs.

Sans-I/O and Trio-free: it turns frames into typed values and back, and says at App
build which annotations it can serve.
"""
