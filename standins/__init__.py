"""Local stand-ins for MongoDB, Redis, OpenAI and Tavily, each served over its real protocol."""
