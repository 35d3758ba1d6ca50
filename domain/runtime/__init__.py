"""The async call runtime: drives one call through the ports (asyncio, no SDKs)."""
