"""The OKX v5 connection: signing, REST over aiohttp, WebSockets over websockets, wire decoding."""
