"""LLM providers behind two small interfaces: text (Grok) and images (Gemini)."""
