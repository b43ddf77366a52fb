"""The HTTPS admission server (aiohttp): the only layer that speaks HTTP and TLS."""
