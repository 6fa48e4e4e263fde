"""The web layer: page, REST API and Socket.IO live feed on one aiohttp application and port."""
